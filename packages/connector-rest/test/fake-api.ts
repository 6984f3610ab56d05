import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { container } from 'tsyringe';
import {
  ConnectionToken,
  Limiter,
  defaultRetryPolicy,
  silentLogger,
  sourceToken,
  targetToken,
  type ConnectionContext,
  type ReadContext,
  type Source,
  type SourceRecord,
  type Target,
  type WriteContext,
} from '@qiao/core';
import { parseRestManifest, restPlugin } from '../src/index.js';

/**
 * A small API on 127.0.0.1 with one route family per auth kind and pagination kind, an OKKI-like
 * envelope (`{code, message, data}`, "404 inside HTTP 200"), a token that expires after a number of
 * calls, injected rate-limit and server faults, and a customer store for writes.
 */
export interface FakeApi {
  url: string;
  items: { id: number; name: string; updated: string }[];
  customers: Map<string, { id: string; code: string; name: string }>;
  counters: { token: number; list: number; detail: number; inserts: number; updates: number; faults: number; expired: number; rateLimited: number };
  /** Answers the next N API calls with this fault. */
  inject(kind: 'rate' | 'http500' | 'expired', n?: number): void;
  /** A token lives this many calls. */
  tokenCalls: number;
  tokenBodies: string[];
  stop(): Promise<void>;
}

export const SECRET = 's3cret-value-42';
export const API_KEY = 'key-value-77';

export async function startFakeApi(count = 23): Promise<FakeApi> {
  const items = Array.from({ length: count }, (_, i) => ({ id: i + 1, name: `客户 ${i + 1}`, updated: `2026-01-${String((i % 28) + 1).padStart(2, '0')} 08:00:00` }));
  const tokens = new Map<string, number>();
  let seq = 0;
  const faults: ('rate' | 'http500' | 'expired')[] = [];
  const api: FakeApi = {
    url: '',
    items,
    customers: new Map(),
    counters: { token: 0, list: 0, detail: 0, inserts: 0, updates: 0, faults: 0, expired: 0, rateLimited: 0 },
    inject: (kind, n = 1) => faults.push(...Array<typeof kind>(n).fill(kind)),
    tokenCalls: 1000,
    tokenBodies: [],
    stop: () => new Promise((r) => server.close(() => r())),
  };
  const issue = (): string => {
    api.counters.token++;
    const t = `tok-${++seq}`;
    tokens.set(t, 0);
    return t;
  };
  const body = (req: IncomingMessage) =>
    new Promise<string>((r) => {
      let s = '';
      req.on('data', (d: Buffer) => (s += d.toString()));
      req.on('end', () => r(s));
    });
  const server: Server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const q = u.searchParams;
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof json === 'string' ? json : JSON.stringify(json));
    };
    const text = await body(req);
    const [, kind, ...rest] = u.pathname.split('/');
    const route = rest.join('/');

    if (kind === 'oauth' && route === 'token') {
      api.tokenBodies.push(String(req.headers['content-type']));
      const fields = String(req.headers['content-type']).includes('json') ? (JSON.parse(text) as Record<string, string>) : Object.fromEntries(new URLSearchParams(text));
      if (fields.client_secret !== SECRET) return send(401, { error: 'invalid_client' });
      return send(200, { data: { token: issue(), ttl: 3600 } });
    }
    if (kind === 'signed' && route === 'token') {
      const text2 = `appKey${q.get('appKey')}timestamp${q.get('timestamp')}`;
      const want = createHmac('sha256', SECRET).update(text2).digest('base64');
      if (q.get('signature') !== want) return send(200, { code: '401', message: 'bad signature' });
      return send(200, { code: '00000', data: { access_token: issue(), expire: 7200 } });
    }

    // auth per family
    const bearer = String(req.headers.authorization ?? '');
    let authorised = false;
    if (kind === 'key') authorised = req.headers['x-api-key'] === API_KEY;
    else if (kind === 'query') authorised = q.get('api_key') === API_KEY;
    else if (kind === 'bearer') authorised = bearer === `Bearer ${SECRET}`;
    else if (kind === 'basic') authorised = bearer === `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`;
    else if (kind === 'oauth' || kind === 'signed') {
      const t = kind === 'oauth' ? bearer.replace(/^Bearer /, '') : (q.get('access_token') ?? '');
      const used = tokens.get(t);
      if (used !== undefined && used < api.tokenCalls) {
        tokens.set(t, used + 1);
        authorised = true;
      } else if (used !== undefined) tokens.delete(t);
    }
    const fault = faults.shift();
    if (fault === 'http500') {
      api.counters.faults++;
      return send(500, '<html>oops</html>');
    }
    if (fault === 'rate') {
      api.counters.rateLimited++;
      return send(200, { code: 'THROTTLED', message: 'slow down' });
    }
    if (!authorised || fault === 'expired') {
      api.counters.expired++;
      return send(200, { code: 'TOKEN_EXPIRED', message: 'token expired' });
    }

    if (route === 'items') {
      api.counters.list++;
      const size = Number(q.get('size') ?? 10);
      const page = Number(q.get('page') ?? 1);
      const from = (page - 1) * size;
      return send(200, { code: '0', data: { total: items.length, rows: items.slice(from, from + size) } });
    }
    if (route === 'offset') {
      api.counters.list++;
      const limit = Number(q.get('limit'));
      const offset = Number(q.get('offset'));
      return send(200, { code: '0', data: { total: items.length, rows: items.slice(offset, offset + limit) } });
    }
    if (route === 'cursor') {
      api.counters.list++;
      const after = Number(q.get('after') ?? 0);
      const rows = items.filter((i) => i.id > after).slice(0, 7);
      const last = rows.at(-1);
      return send(200, { code: '0', data: { rows, next: last && last.id < items.length ? String(last.id) : null } });
    }
    if (route === 'link') {
      api.counters.list++;
      const page = Number(q.get('p') ?? 1);
      const rows = items.slice((page - 1) * 9, page * 9);
      const headers: Record<string, string> = page * 9 < items.length ? { link: `</${kind}/link?p=${page + 1}>; rel="next", </${kind}/link?p=1>; rel="first"` } : {};
      return send(200, { code: '0', data: { rows } }, headers);
    }
    if (route.startsWith('items/')) {
      api.counters.detail++;
      const id = Number(route.slice(6));
      const item = items.find((i) => i.id === id);
      // "404 inside HTTP 200"
      if (!item || id === 3) return send(200, { code: '404', message: 'no such item', data: [] });
      return send(200, { code: '0', data: { id: String(id), name: item.name, extra: `详情 ${id}`, big: '1234567890123456789' } });
    }
    if (route === 'customers' && req.method === 'GET') {
      const code = q.get('code');
      const found = [...api.customers.values()].filter((c) => c.code === code);
      return send(200, { code: '0', data: { list: found } });
    }
    if (route === 'customers' && req.method === 'POST') {
      const b = JSON.parse(text) as { customer: { code: string; name: string } };
      if (!b.customer?.name) return send(200, { code: 'E100', message: 'name is required' });
      api.counters.inserts++;
      const id = String(1870000000000000000n + BigInt(api.customers.size + 1));
      api.customers.set(id, { id, ...b.customer });
      return send(200, `{"code":"0","data":{"id":${id}}}`);
    }
    if (route.startsWith('customers/') && req.method === 'PUT') {
      const id = route.slice(10);
      const b = JSON.parse(text) as { customer: { code: string; name: string } };
      if (!api.customers.has(id)) return send(404, { code: '404', message: 'gone' });
      api.counters.updates++;
      api.customers.set(id, { id, ...b.customer });
      return send(200, `{"code":"0","data":{"id":${id}}}`);
    }
    send(404, { message: 'no route' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

/** A manifest for the fake API, with the auth block and stream given. */
export function fakeManifest(o: { family: string; auth: string; pagination: string; path: string; detail?: boolean; extraStream?: string }): string {
  return `id: fake
name: Fake API
version: 0.0.1
baseUrl: "{{connection.baseUrl}}/${o.family}"
connection:
  type: object
  properties:
    baseUrl: { type: string }
    secret: { type: string, x-secret: true }
    apiKey: { type: string, x-secret: true }
limits: { requestsPerSecond: 1000, concurrency: 4 }
auth:
${o.auth}
envelope:
  status: $.code
  message: $.message
  ok: ["0", "00000"]
  notFound: ["404"]
  tokenExpired: [TOKEN_EXPIRED]
  rateLimited: [THROTTLED]
streams:
  - id: items
    label: Items
    request: { path: /${o.path} }
    records: $.data.rows
    primaryKey: id
    pagination:
${o.pagination}
${o.detail ? `    detail: { path: "/items/{{key}}", data: $.data, merge: detail_wins }\n` : ''}    normalize: { ids: [id] }
operations:
  - id: customer.save
    label: Save a customer
    input: { type: object, required: [code], properties: { code: { type: string }, name: { type: string } } }
    key: code
    lookup:
      request: { path: /customers, query: { code: "{{payload.code}}" } }
      records: $.data.list[*]
      id: id
    insert: { method: POST, path: /customers, body: "{ 'customer': payload }" }
    update: { method: PUT, path: "/customers/{{found.id}}", body: "{ 'customer': payload }" }
    resultId: $.data.id
`;
}

export const fastRetry = { ...defaultRetryPolicy, maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 10_000 };

export function wireFake(text: string, api: FakeApi, config: Record<string, unknown> = {}): { ctx: ConnectionContext; source: Source; target: Target } {
  const m = parseRestManifest(text, 'fake.rest.yaml');
  const plugin = restPlugin(m);
  const ctx: ConnectionContext = {
    connector: 'rest',
    config: { baseUrl: api.url, secret: SECRET, apiKey: API_KEY, ...config },
    limiter: new Limiter({ concurrency: 4 }),
    retry: fastRetry,
    logger: silentLogger,
    secrets: [SECRET, API_KEY, ...Object.values(config).map(String)],
  };
  const c = container.createChildContainer();
  c.register(ConnectionToken, { useValue: ctx });
  plugin.register(c);
  return { ctx, source: c.resolve(sourceToken('items')), target: c.resolve(targetToken('customer.save')) };
}

export async function readAll(source: Source, partial: Partial<ReadContext> = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of source.read({ params: {}, detail: false, lookbackMs: 0, signal: new AbortController().signal, logger: silentLogger, ...partial })) out.push(r);
  return out;
}

export function writeContext(partial: Partial<WriteContext> = {}): WriteContext {
  return { key: 'k', maybeWritten: false, signal: new AbortController().signal, logger: silentLogger, ...partial };
}
