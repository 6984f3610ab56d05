import { join, relative } from 'node:path';
import { sdkIdentity } from '@qiao/core';

/** What `qiao connectors new` writes. */
export interface ScaffoldOptions {
  /** Connector id (`shop`): schemes say `connector: shop`. */
  id: string;
  /** npm package name. @default `qiao-connector-<id>` */
  packageName?: string | undefined;
  /** Write a stream (source side). */
  source: boolean;
  /** Write an operation (target side). */
  target: boolean;
  /** The folder the package goes to (absolute). */
  dir: string;
  /** `@qiao/core`'s version, for the peer dependency. */
  coreVersion: string;
}

/**
 * The files of a new connector package, by path relative to its folder: plain ES modules that run on
 * an installed qiao with no build step.
 */
export function scaffoldFiles(o: ScaffoldOptions): Record<string, string> {
  const name = o.packageName ?? `qiao-connector-${o.id}`;
  const words = o.id.split('-').filter(Boolean);
  /** For people: `acme-shop` → `Acme shop`. */
  const title = words.map((w, i) => (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w)).join(' ');
  /** A JavaScript identifier: `acme-shop` → `AcmeShop`. */
  const className = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  const schemaPath = relative(o.dir, join(sdkIdentity.root, 'schemes-placeholder')).replace('schemes-placeholder', 'schemas/connector-manifest.schema.json').split('\\').join('/');
  const streamId = 'customers';
  const opId = 'contacts.save';
  const files: Record<string, string> = {};
  const sides = [o.source ? 'a source (stream customers)' : '', o.target ? 'a target (operation contacts.save)' : ''].filter(Boolean).join(' and ');

  files['package.json'] = `${JSON.stringify(
    {
      name,
      version: '0.1.0',
      description: `qiao connector for ${title}: ${sides}`,
      type: 'module',
      license: 'MIT',
      keywords: ['qiao-connector'],
      exports: { '.': './src/index.js', './manifest.json': './manifest.json', './package.json': './package.json' },
      files: ['src', 'manifest.json', 'README.md'],
      qiao: { connector: o.id },
      scripts: { test: 'node --test test/connector.test.js', simulator: 'node src/simulator.js' },
      peerDependencies: { '@qiao/core': `^${o.coreVersion}` },
      engines: { node: '>=20.19.0' },
    },
    null,
    2,
  )}\n`;

  const manifest: Record<string, unknown> = {
    $schema: schemaPath,
    id: o.id,
    name: title,
    version: '0.1.0',
    description: `${title}: ${sides}.`,
    connection: {
      type: 'object',
      required: ['baseUrl', 'apiKey'],
      additionalProperties: false,
      properties: {
        baseUrl: { type: 'string', title: 'API address', default: 'http://127.0.0.1:4010', description: `where ${title}'s API answers` },
        apiKey: { type: 'string', title: 'API key', 'x-secret': true, description: 'sent as the x-api-key header' },
      },
    },
    limits: { requestsPerSecond: 20, concurrency: 4 },
    streams: o.source
      ? [
          {
            id: streamId,
            label: 'Customers',
            api: '/customers',
            method: 'GET',
            params: {
              type: 'object',
              additionalProperties: false,
              properties: { pageSize: { type: 'integer', minimum: 1, maximum: 100, default: 10, title: 'Page size' } },
            },
            primaryKey: 'id',
            cursor: { field: 'updated_at', format: 'ISO 8601' },
            record: {
              type: 'object',
              required: ['id', 'name', 'updated_at'],
              properties: {
                id: { type: 'string', title: 'Customer id' },
                name: { type: 'string', title: 'Name' },
                email: { type: 'string', title: 'Email' },
                updated_at: { type: 'string', title: 'Updated at' },
              },
            },
          },
        ]
      : [],
    operations: o.target
      ? [
          {
            id: opId,
            label: 'Save a contact',
            api: '/contacts',
            method: 'POST',
            input: {
              type: 'object',
              required: ['email', 'name'],
              properties: { email: { type: 'string', minLength: 3, title: 'Email' }, name: { type: 'string', minLength: 1, title: 'Name' } },
            },
            upsert: { key: 'email', lookup: '/contacts/by-email/{email}' },
          },
        ]
      : [],
  };
  files['manifest.json'] = `${JSON.stringify(manifest, null, 2)}\n`;

  files['src/client.js'] = `import { ConnectorAuthError, RecordError, RetryableError } from '@qiao/core';

/**
 * The one transport of the connector: every request to ${title} goes through here, through the
 * connection's limiter, with its errors classified the way qiao expects:
 * - 401/403 → ConnectorAuthError (the run stops, \`qiao check\` says so);
 * - network errors, 429 and 5xx → RetryableError (qiao retries with back-off);
 * - any other 4xx → RecordError (this record becomes a dead letter, the run goes on).
 */
export class ${className}Client {
  /** @param {import('@qiao/core').ConnectionContext} conn */
  constructor(conn) {
    this.conn = conn;
    this.baseUrl = String(conn.config.baseUrl).replace(/\\/$/, '');
    this.apiKey = String(conn.config.apiKey);
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{ body?: unknown, signal?: AbortSignal, notFound?: unknown }} [options]
   */
  request(method, path, options = {}) {
    return this.conn.limiter.schedule(async () => {
      let res;
      try {
        res = await fetch(this.baseUrl + path, {
          method,
          headers: { 'x-api-key': this.apiKey, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: options.signal,
        });
      } catch (e) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw new RetryableError(\`${title} \${method} \${path}: \${e.cause?.code ?? e.message}\`, { system: '${o.id}', reason: '${o.id}.unreachable', cause: e, hint: \`is ${title} running at \${this.baseUrl}?\` });
      }
      const text = await res.text();
      if (res.status === 404 && 'notFound' in options) return options.notFound;
      if (res.status === 401 || res.status === 403) {
        throw new ConnectorAuthError(\`${title} refused the API key (HTTP \${res.status})\`, { system: '${o.id}', reason: '${o.id}.auth', hint: 'check apiKey in the connection block' });
      }
      if (res.status === 429 || res.status >= 500) {
        throw new RetryableError(\`${title} \${method} \${path}: HTTP \${res.status}\`, { system: '${o.id}', reason: \`${o.id}.http_\${res.status}\` });
      }
      if (!res.ok) {
        throw new RecordError(\`${title} \${method} \${path}: HTTP \${res.status} \${text.slice(0, 200)}\`, { system: '${o.id}', reason: \`${o.id}.http_\${res.status}\` });
      }
      return text ? JSON.parse(text) : undefined;
    }, options.signal);
  }
}
`;

  const imports = [`import { defineConnector } from '@qiao/core';`, `import { ${className}Client } from './client.js';`];
  if (o.source) imports.push(`import { readCustomers } from './customers.stream.js';`);
  if (o.target) imports.push(`import { saveContact } from './contacts-save.operation.js';`);
  const kitStreams = o.source ? `\n        streams: { ${streamId}: { params: { pageSize: 5 } } },` : '';
  const kitOps = o.target ? `\n        operations: { '${opId}': { payload: (unique) => ({ email: \`kit-\${unique.toLowerCase()}@example.com\`, name: \`Kit \${unique}\` }) } },` : '';
  files['src/index.js'] = `${imports.join('\n')}

/**
 * The ${title} connector. Its default export is all qiao needs: the manifest, and plain functions for
 * what the manifest declares. qiao registers them; no DI, no decorators.
 */
export default defineConnector({
  manifest: new URL('../manifest.json', import.meta.url),
  // one client per connection: streams, operations and the check find it as conn.client
  connect: (conn) => new ${className}Client(conn),
${o.source ? `  streams: { ${streamId}: { read: readCustomers } },\n` : ''}${o.target ? `  operations: { '${opId}': { write: saveContact } },\n` : ''}  // \`qiao check\`: one cheap authenticated call; conn.side says whether this connection is a source or a target
  check: async (conn, signal) => {
    const me = await conn.client.request('GET', '/me', { signal });
    return \`authenticated to \${me.shop} at \${conn.client.baseUrl} (\${conn.side ?? 'connection'})\`;
  },
  diagnoses: [{ reason: '${o.id}.auth', hint: 'The API key was refused: check apiKey (SHOP_API_KEY in the example scheme).' }],
  // how the behavioural kit (npm test, \`qiao connectors test\`) reaches a ${title} to test against
  testing: {
    setup: async () => {
      const { startSimulator } = await import('./simulator.js');
      const sim = await startSimulator({ port: 0 });
      return {
        connection: { baseUrl: sim.url, apiKey: sim.apiKey },${kitStreams}${kitOps}
        close: () => sim.close(),
      };
    },
  },
});
`;

  if (o.source) {
    files['src/customers.stream.js'] = `/**
 * Stream \`${streamId}\`: pages through GET /customers, oldest change first. An incremental read starts
 * at the cursor (minus the look-back) and the API filters by updated_at.
 * @param {import('@qiao/core').ReadContext} ctx
 * @param {import('@qiao/core').ConnectorConnection<import('./client.js').${className}Client>} conn
 * @returns {AsyncIterable<import('@qiao/core').SourceRecord>}
 */
export async function* readCustomers(ctx, conn) {
  const since = ctx.cursor ? new Date(Date.parse(ctx.cursor) - ctx.lookbackMs).toISOString() : undefined;
  const pageSize = Number(ctx.params.pageSize ?? 10);
  let yielded = 0;
  for (let page = 1; ; page++) {
    if (ctx.signal.aborted) return;
    const query = new URLSearchParams({ page: String(page), page_size: String(pageSize), ...(since ? { updated_since: since } : {}) });
    const body = await conn.client.request('GET', \`/customers?\${query}\`, { signal: ctx.signal });
    if (page === 1) ctx.onTotal?.(ctx.limit === undefined ? body.total : Math.min(ctx.limit, body.total));
    for (const row of body.items) {
      if (ctx.signal.aborted || (ctx.limit !== undefined && yielded >= ctx.limit)) return;
      yielded++;
      yield { stream: '${streamId}', key: String(row.id), cursor: row.updated_at, data: row };
    }
    if (!body.next_page) return;
  }
}
`;
  }
  if (o.target) {
    files['src/contacts-save.operation.js'] = `/**
 * Operation \`${opId}\`: upserts a contact by email. A write retried after a crash (ctx.maybeWritten)
 * may already have created the contact, so it looks the email up first and never creates a second one.
 * @param {Record<string, unknown>} payload
 * @param {import('@qiao/core').WriteContext} ctx
 * @param {import('@qiao/core').ConnectorConnection<import('./client.js').${className}Client>} conn
 * @returns {Promise<import('@qiao/core').WriteResult>}
 */
export async function saveContact(payload, ctx, conn) {
  const { client } = conn;
  const id = ctx.knownId ?? (await client.request('GET', \`/contacts/by-email/\${encodeURIComponent(String(payload.email))}\`, { signal: ctx.signal, notFound: null }))?.id;
  if (id) {
    const saved = await client.request('PUT', \`/contacts/\${encodeURIComponent(id)}\`, { body: payload, signal: ctx.signal });
    return { outcome: saved.changed ? 'updated' : 'unchanged', id: String(saved.id) };
  }
  const created = await client.request('POST', '/contacts', { body: payload, signal: ctx.signal });
  return { outcome: 'inserted', id: String(created.id) };
}
`;
  }

  files['src/simulator.js'] = `// A small ${title} API for tests and examples (node:http, in memory). \`npm run simulator\` serves it on
// port 4010 (PORT to change); the tests start it on a free port. Replace it with recorded answers of the
// real API as you learn them.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const API_KEY = 'demo-key';
const BASE = Date.UTC(2026, 0, 1);

/** @param {{ port?: number, customers?: number }} [options] */
export async function startSimulator(options = {}) {
  const customers = Array.from({ length: options.customers ?? 25 }, (_, i) => ({
    id: \`C\${String(i + 1).padStart(4, '0')}\`,
    name: \`Customer \${i + 1}\`,
    email: \`customer\${i + 1}@example.com\`,
    updated_at: new Date(BASE + (i + 1) * 60_000).toISOString(),
  }));
  /** @type {Map<string, { id: string, email: string, name: string }>} */
  const contacts = new Map();
  let nextId = 1;
  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (req.headers['x-api-key'] !== API_KEY) return send(401, { error: 'invalid api key' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body;
    if (req.method === 'POST' || req.method === 'PUT') {
      let text = '';
      for await (const chunk of req) text += chunk;
      try {
        body = JSON.parse(text);
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
    }
    if (req.method === 'GET' && url.pathname === '/me') return send(200, { shop: '${title} simulator' });
    if (req.method === 'GET' && url.pathname === '/customers') {
      const since = url.searchParams.get('updated_since');
      const size = Math.min(100, Number(url.searchParams.get('page_size') ?? 10));
      const page = Number(url.searchParams.get('page') ?? 1);
      const rows = customers.filter((c) => !since || c.updated_at >= since);
      const items = rows.slice((page - 1) * size, page * size);
      return send(200, { items, total: rows.length, next_page: page * size < rows.length ? page + 1 : null });
    }
    if (req.method === 'GET' && url.pathname === '/contacts') return send(200, { items: [...contacts.values()], total: contacts.size });
    const byEmail = /^\\/contacts\\/by-email\\/(.+)$/.exec(url.pathname);
    if (req.method === 'GET' && byEmail) {
      const c = [...contacts.values()].find((x) => x.email === decodeURIComponent(byEmail[1]));
      return c ? send(200, c) : send(404, { error: 'no such contact' });
    }
    if (req.method === 'POST' && url.pathname === '/contacts') {
      if (typeof body?.email !== 'string' || typeof body?.name !== 'string') return send(422, { error: 'email and name are required' });
      if ([...contacts.values()].some((x) => x.email === body.email)) return send(409, { error: 'email already used' });
      const c = { id: \`P\${nextId++}\`, email: body.email, name: body.name };
      contacts.set(c.id, c);
      return send(201, c);
    }
    const one = /^\\/contacts\\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PUT' && one) {
      const c = contacts.get(decodeURIComponent(one[1]));
      if (!c) return send(404, { error: 'no such contact' });
      const changed = c.name !== body.name || c.email !== body.email;
      Object.assign(c, { email: body.email, name: body.name });
      return send(200, { ...c, changed });
    }
    return send(404, { error: \`no route \${req.method} \${url.pathname}\` });
  });
  await new Promise((resolve) => server.listen(options.port ?? 4010, '127.0.0.1', resolve));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: \`http://127.0.0.1:\${address.port}\`,
    apiKey: API_KEY,
    customers,
    contacts,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sim = await startSimulator({ port: Number(process.env.PORT ?? 4010) });
  console.log(\`${title} simulator on \${sim.url} (x-api-key: \${sim.apiKey})\`);
}
`;

  files['test/connector.test.js'] = `// The behavioural kit of qiao against the simulator (testing.setup in src/index.js): the check with a
// good and a wrong API key${o.source ? ', records that validate with their key and cursor, limit, abort and a future cursor' : ''}${o.target ? ', and writes that are not doubled when retried' : ''}.
// \`npm test\` runs it with node's own test runner; \`qiao connectors test ${o.id === '.' ? '.' : `./`}\` runs the same checks.
import { test } from 'node:test';
import { connectorKit } from '@qiao/core/testing';
import connector from '../src/index.js';

connectorKit(connector).define(test);
`;

  const source = o.source
    ? `source:\n  connector: ${o.id}\n  stream: ${streamId}\n  params: { pageSize: 10 }\n  connection:\n    baseUrl: \${env:SHOP_BASE_URL:-http://127.0.0.1:4010}\n    apiKey: \${env:SHOP_API_KEY:-demo-key}\n`
    : `source:\n  connector: memory          # qiao's built-in test data\n  stream: records\n  params: { count: 20 }\n`;
  const target = o.target
    ? `target:\n  connector: ${o.id}\n  operation: ${opId}\n  connection:\n    baseUrl: \${env:SHOP_BASE_URL:-http://127.0.0.1:4010}\n    apiKey: \${env:SHOP_API_KEY:-demo-key}\n`
    : `target:\n  connector: memory          # qiao's built-in in-memory target\n  operation: records.save\n`;
  const mapping = o.target
    ? o.source
      ? `mapping:\n  email: email\n  name: name\n`
      : `mapping:\n  email: id\n  name: name\n`
    : `mapping:\n  code: id\n  name.zh_CN: name\n`;
  files[`examples/${o.id}.scheme.yaml`] = `# An example scheme for the ${title} connector. Start the simulator first (npm run simulator), then:
#   npx qiao validate examples/${o.id}.scheme.yaml
#   npx qiao run examples/${o.id}.scheme.yaml
# \`connector: ${o.id}\` is found from this folder (the package says "qiao": { "connector": "${o.id}" });
# once the package is installed in a project, the same scheme works there.
version: 1
id: ${o.id}-example
name: ${title} example
${source}${target}${mapping}`;

  files['README.md'] = `# ${name}

A [qiao](https://github.com/qiao) connector for ${title}: ${sides}. Written with \`defineConnector\` from
\`@qiao/core\`, as plain ES modules: no build step.

| file | what it is |
|---|---|
| \`manifest.json\` | what the connector offers: connection settings, limits, ${o.source ? `stream \`${streamId}\`` : ''}${o.source && o.target ? ', ' : ''}${o.target ? `operation \`${opId}\`` : ''} (editors complete it through \`$schema\`) |
| \`src/index.js\` | the connector: \`export default defineConnector({ manifest, connect, ${o.source ? 'streams, ' : ''}${o.target ? 'operations, ' : ''}check })\` |
| \`src/client.js\` | the one transport: every request, through the connection's limiter, errors classified |
${o.source ? `| \`src/customers.stream.js\` | stream \`${streamId}\`: pages, cursor, limit, abort |\n` : ''}${o.target ? `| \`src/contacts-save.operation.js\` | operation \`${opId}\`: an upsert by email that a retry never doubles |\n` : ''}| \`src/simulator.js\` | a small ${title} API on node:http, for tests and the example |
| \`test/connector.test.js\` | qiao's behavioural test kit against the simulator |
| \`examples/${o.id}.scheme.yaml\` | a scheme that uses the connector |

## Test

\`\`\`sh
npm test                          # node --test: the kit against the simulator
npx qiao connectors test ${o.id}        # the same checks from the qiao command line
\`\`\`

## Use it

The package says \`"qiao": { "connector": "${o.id}" }\` in its package.json, so qiao finds it in a
project's \`connectors/\` folder or \`node_modules\` (under any name or scope). A scheme names it by id,
by package name, or by path (\`connector: ./connectors/${o.id}\`, relative to the scheme file).

\`\`\`sh
npm run simulator &                           # ${title} on http://127.0.0.1:4010
npx qiao connectors                           # lists ${o.id}
npx qiao validate examples/${o.id}.scheme.yaml
npx qiao run examples/${o.id}.scheme.yaml
\`\`\`

## Publish

\`@qiao/core\` is a peer dependency: the project that installs qiao provides it, so the connector and
qiao share one copy. Set the package name and version, then \`npm publish\`; users run
\`npm install ${name}\` next to qiao. See qiao's docs/authoring-connectors.md.
`;
  return files;
}
