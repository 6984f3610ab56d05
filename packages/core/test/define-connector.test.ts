import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InputError,
  SDK_MARK,
  connectPlugin,
  defineConnector,
  duplicateSdkProblems,
  loadManifest,
  sdkIdentity,
  sdkProblems,
  silentLogger,
  type ConnectorConnection,
  type ReadContext,
  type SourceRecord,
  type WriteContext,
} from '../src/index.js';
import { connectorManifestSchema } from '../src/manifest/connector-manifest.schema.js';

/** A JSON-lines file target: no HTTP, so no api or method. */
const fileManifest = {
  id: 'jsonl',
  name: 'JSON lines file',
  version: '1.0.0',
  connection: { type: 'object', properties: { path: { type: 'string', title: '文件' }, token: { type: 'string', title: 'token', 'x-secret': true } } },
  limits: {},
  streams: [
    {
      id: 'lines',
      label: 'lines',
      params: { type: 'object' },
      primaryKey: 'id',
      record: { type: 'object', properties: { id: { type: 'string' } } },
    },
  ],
  operations: [{ id: 'lines.append', label: 'append', input: { type: 'object', properties: { id: { type: 'string' } } }, upsert: { key: 'id' } }],
};

const readCtx = (): ReadContext => ({ params: {}, detail: false, lookbackMs: 0, signal: new AbortController().signal, logger: silentLogger });
const writeCtx = (key: string): WriteContext => ({ key, maybeWritten: false, signal: new AbortController().signal, logger: silentLogger });

async function collect(it: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('defineConnector', () => {
  it('accepts a manifest without api or method (a file target)', () => {
    expect(() => loadManifest(structuredClone(fileManifest), 'jsonl manifest')).not.toThrow();
  });

  it('wires plain functions: one client per connection, shared by streams, operations and the check, which knows its side', async () => {
    let clients = 0;
    const plugin = defineConnector({
      manifest: fileManifest,
      connect: (conn) => ({ n: ++clients, path: String(conn.config.path), rows: new Map<string, unknown>() }),
      streams: {
        lines: {
          async *read(_ctx, conn) {
            yield { stream: 'lines', key: 'a', data: { id: 'a', client: conn.client.n } };
          },
        },
      },
      operations: {
        'lines.append': {
          async write(payload, _ctx, conn) {
            conn.client.rows.set(String(payload.id), payload);
            return { outcome: 'inserted', id: String(payload.id) };
          },
        },
      },
      check: async (conn) => `${conn.side} ${conn.client.path} client ${conn.client.n}`,
    });
    const a = connectPlugin(plugin, { path: '/tmp/a.jsonl' }, { side: 'target' });
    expect(await a.check!.check()).toBe('target /tmp/a.jsonl client 1');
    expect((await collect(a.source('lines').read(readCtx())))[0]!.data).toEqual({ id: 'a', client: 1 });
    expect(await a.target('lines.append').write({ id: 'x' }, writeCtx('x'))).toEqual({ outcome: 'inserted', id: 'x' });
    // a second connection gets a client of its own
    const b = connectPlugin(plugin, { path: '/tmp/b.jsonl' });
    expect(await b.check!.check()).toBe('source /tmp/b.jsonl client 2');
    expect(clients).toBe(2);
  });

  it('builds a class with the connection, and a factory function with it', async () => {
    class Lines {
      constructor(private readonly conn: ConnectorConnection<{ greeting: string }>) {}
      async *read(): AsyncIterable<SourceRecord> {
        yield { stream: 'lines', key: '1', data: { id: '1', text: this.conn.client.greeting } };
      }
    }
    const plugin = defineConnector({
      manifest: fileManifest,
      connect: () => ({ greeting: 'hello' }),
      streams: { lines: Lines },
      operations: { 'lines.append': (conn) => ({ write: async () => ({ outcome: 'unchanged', id: conn.client.greeting }) }) },
    });
    const c = connectPlugin(plugin, {});
    expect((await collect(c.source('lines').read(readCtx())))[0]!.data.text).toBe('hello');
    expect((await c.target('lines.append').write({}, writeCtx('k'))).id).toBe('hello');
    expect(c.check).toBeUndefined();
  });

  it('lists every stream or operation the manifest declares without an implementation, and every extra one', () => {
    let error: unknown;
    try {
      defineConnector({ manifest: fileManifest, streams: { line: { read: async function* () {} } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const pointers = (error as InputError).problems.map((p) => p.pointer).sort();
    expect(pointers).toEqual(['/operations/lines.append', '/streams/line', '/streams/lines']);
    expect((error as InputError).message).toContain("add streams: { 'lines': … } to defineConnector");
  });

  it('reports every problem of an invalid manifest with its pointer', () => {
    const bad = structuredClone(fileManifest) as Record<string, unknown> & { streams: Record<string, unknown>[] };
    delete bad.version;
    bad.streams[0]!.primaryKey = 7;
    let error: unknown;
    try {
      defineConnector({ manifest: bad, streams: {}, operations: {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const problems = (error as InputError).problems;
    expect(problems.map((p) => p.pointer)).toEqual(['/version', '/streams/0/primaryKey']);
    expect(problems.length).toBeGreaterThanOrEqual(2);
  });

  it('stamps the plugin with the copy of core that made it, and names a second copy', () => {
    const plugin = defineConnector({ manifest: fileManifest, streams: { lines: { read: async function* () {} } }, operations: { 'lines.append': { write: async () => ({ outcome: 'unchanged' }) } } });
    expect(sdkProblems(plugin, 'jsonl')).toEqual([]);
    const foreign = { ...plugin, [SDK_MARK]: { version: '0.0.9', root: '/elsewhere/node_modules/@qiao/core' } };
    const problems = sdkProblems(foreign, '@acme/qiao-connector-jsonl');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.found).toContain('/elsewhere/node_modules/@qiao/core');
    expect(problems[0]!.expected).toContain(sdkIdentity.root);
    expect(problems[0]!.hint).toContain('peerDependency');
  });

  it('finds a second @qiao/core or tsyringe in a plugin package folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qiao-dup-'));
    try {
      const pkg = join(dir, 'shop');
      for (const name of ['@qiao/core', 'tsyringe']) {
        mkdirSync(join(pkg, 'node_modules', name), { recursive: true });
        writeFileSync(join(pkg, 'node_modules', name, 'package.json'), JSON.stringify({ name, version: '9.9.9' }));
      }
      const problems = duplicateSdkProblems(pkg, 'qiao-connector-shop');
      expect(problems.map((p) => p.found)).toEqual([
        `a second copy of @qiao/core (9.9.9) at ${join(pkg, 'node_modules/@qiao/core')}`,
        `a second copy of tsyringe (9.9.9) at ${join(pkg, 'node_modules/tsyringe')}`,
      ]);
      rmSync(join(pkg, 'node_modules'), { recursive: true });
      expect(duplicateSdkProblems(pkg, 'qiao-connector-shop')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the manifest meta-schema', () => {
  it('ships as schemas/connector-manifest.schema.json, identical to the one core validates with', () => {
    const file = JSON.parse(readFileSync(new URL('../schemas/connector-manifest.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(file).toEqual(JSON.parse(JSON.stringify(connectorManifestSchema)));
  });

  it('is exported by the package for editors ($schema)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports['./schemas/connector-manifest.schema.json']).toBe('./schemas/connector-manifest.schema.json');
    expect(pkg.files).toContain('schemas');
  });
});
