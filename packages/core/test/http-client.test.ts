import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AdaptiveLimiter,
  HttpClient,
  Limiter,
  RetryableError,
  silentLogger,
  type Classification,
  type HttpClientOptions,
  type HttpResponse,
  type LimiterAnswer,
} from '../src/index.js';

// HttpClient on got against a real server on 127.0.0.1: what got is trusted with (decompression,
// timeouts, keep-alive, error codes) and what qiao adds on top (what is repeated, what is not).

const BIG = '1481709712348020742'; // beyond 2^53: JSON.parse would round it
const policy = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 5000 };

let server: Server;
let base: string;
/** Requests seen, by path. */
const hits = new Map<string, number>();
/** Sockets the server accepted. */
let sockets = 0;
/** Per path, what to do with the next requests (one handler per request, then the default). */
const plans = new Map<string, ((req: IncomingMessage, res: ServerResponse) => void)[]>();

const json = `{"code":200,"data":{"id":${BIG},"name":"桥"}}`;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const step = plans.get(path)?.shift();
    if (step) return step(req, res);
    switch (path) {
      case '/gzip':
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(json));
      case '/br':
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' }).end(brotliCompressSync(json));
      case '/deflate':
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'deflate' }).end(deflateSync(json));
      case '/too-many':
        return void res.writeHead(429, { 'retry-after': '0' }).end('{}');
      default:
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(json);
    }
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  hits.clear();
  plans.clear();
});

const classify = (res: HttpResponse): Classification => {
  if (res.status === 429) return { kind: 'retry', reason: 't.busy', message: 'HTTP 429' };
  if (res.status >= 500) return { kind: 'retry', reason: 't.busy', message: `HTTP ${res.status}` };
  if (res.json === undefined) return { kind: 'retry', reason: 't.garbled', message: 'not JSON' };
  return { kind: 'ok' };
};

const client = (extra: Partial<HttpClientOptions> = {}) =>
  new HttpClient({
    system: 't',
    label: 'Test',
    limiter: new Limiter({ concurrency: 4 }),
    retry: policy,
    logger: silentLogger,
    secrets: [],
    timeoutMs: 200,
    classify,
    ...extra,
  });

/** A handler that never answers (the socket is closed when the server shuts down). */
const hang = () => undefined;

describe('HttpClient on got', () => {
  it.each(['gzip', 'br', 'deflate'])('decompresses a %s answer and parses it losslessly', async (encoding) => {
    const res = await client().request({ method: 'GET', url: `${base}/${encoding}` });
    // got drops content-encoding (and the compressed length) from the headers once it has decoded the body
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.text).toBe(json);
    expect(res.json).toEqual({ code: 200, data: { id: BIG, name: '桥' } });
  });

  it('asks for compressed answers', async () => {
    let asked: string | undefined;
    plans.set('/ask', [(req, res) => void ((asked = req.headers['accept-encoding']), res.end(json))]);
    await client().request({ method: 'GET', url: `${base}/ask` });
    expect(asked).toMatch(/gzip/);
    expect(asked).toMatch(/br/);
  });

  it('repeats a GET that timed out', async () => {
    plans.set('/slow', [hang]);
    const c = client();
    const res = await c.request({ method: 'GET', url: `${base}/slow` });
    expect(res.json).toMatchObject({ code: 200 });
    expect(hits.get('/slow')).toBe(2);
    expect(c.stats).toMatchObject({ requests: 2, retries: 1 });
  });

  it('does not repeat a POST that timed out: its outcome is unknown', async () => {
    plans.set('/save', [hang]);
    const e = await client()
      .request({ method: 'POST', url: `${base}/save`, json: { a: 1 } })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect(e).toMatchObject({ outcomeUnknown: true, reason: 't.network' });
    expect((e as Error).message).toMatch(/^Test \/save: ETIMEDOUT /);
    expect(hits.get('/save')).toBe(1);
  });

  it('does not repeat a POST whose connection was lost after sending', async () => {
    plans.set('/save', [(req) => req.socket.destroy()]);
    const e = await client()
      .request({ method: 'POST', url: `${base}/save`, json: { a: 1 } })
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ outcomeUnknown: true, reason: 't.network' });
    expect(hits.get('/save')).toBe(1);
  });

  it('repeats a POST that was never sent (connection refused), and says where it tried', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = client();
    const e = await c.request({ method: 'POST', url: `http://127.0.0.1:${port}/save`, json: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect(e).toMatchObject({ outcomeUnknown: false, reason: 't.network', hint: `check that Test is reachable (http://127.0.0.1:${port})` });
    expect((e as Error).message).toContain('ECONNREFUSED');
    expect(c.stats.requests).toBe(policy.maxAttempts);
  });

  it('keeps secrets out of network errors and their causes', async () => {
    plans.set('/slow', [hang, hang, hang, hang]);
    const secret = 'tok+en/s3cr3t=';
    const e = await client({ secrets: [secret], retry: { ...policy, maxAttempts: 1 } })
      .request({ method: 'GET', url: `${base}/slow?access_token=${encodeURIComponent(secret)}`, headers: { authorization: secret } })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    const everything = inspect(e, { depth: 20, showHidden: true });
    expect(everything).not.toContain('s3cr3t');
    expect((e as Error).cause).toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('reuses its keep-alive connection', async () => {
    const before = sockets;
    const c = client({ limiter: new Limiter({ concurrency: 1 }) });
    for (let i = 0; i < 10; i++) await c.request({ method: 'GET', url: `${base}/k` });
    await Promise.all(Array.from({ length: 10 }, () => c.request({ method: 'POST', url: `${base}/k`, json: { i: 1 } })));
    expect(hits.get('/k')).toBe(20);
    expect(sockets - before).toBe(1);
  });

  it('keeps a waiting request out of the server when its signal aborts', async () => {
    plans.set('/first', [hang]);
    const c = client({ limiter: new Limiter({ concurrency: 1 }), timeoutMs: 300 });
    const first = c.request({ method: 'GET', url: `${base}/first` }).catch((x: unknown) => x);
    const controller = new AbortController();
    const waiting = c.request({ method: 'GET', url: `${base}/second` }, controller.signal).catch((x: unknown) => x);
    while (!hits.get('/first')) await new Promise((r) => setTimeout(r, 2));
    controller.abort();
    expect(await waiting).toMatchObject({ name: 'AbortError' });
    await first;
    expect(hits.get('/second')).toBeUndefined();
  });

  it('tells the limiter how each answer went, so an adaptive limiter can slow down', async () => {
    const answers: LimiterAnswer[] = [];
    const limiter = Object.assign(new Limiter({ concurrency: 2 }), { observe: (a: LimiterAnswer) => void answers.push(a) });
    plans.set('/busy', [(_q, s) => void s.writeHead(429, { 'retry-after': '0' }).end('{}')]);
    await client({ limiter }).request({ method: 'GET', url: `${base}/busy` });
    expect(answers).toEqual([
      { rateLimited: true, retryAfterMs: 0, startedAt: expect.any(Number) },
      { rateLimited: false, retryAfterMs: undefined, startedAt: expect.any(Number) },
    ]);
    // the retry started after the refusal came back
    expect(answers[1]?.startedAt).toBeGreaterThanOrEqual(answers[0]?.startedAt ?? Number.POSITIVE_INFINITY);
  });

  it('repeats a request the system keeps refusing for its rate limit past the attempts, held by the adaptive limiter', async () => {
    // one request in flight and a window that stays full: every probe after a pause is this request
    const refusal = (_q: IncomingMessage, s: ServerResponse) => void s.writeHead(200, { 'content-type': 'application/json' }).end('{"code":310039}');
    plans.set('/save', Array.from({ length: 8 }, () => refusal));
    const limiter = new AdaptiveLimiter({ requestsPerSecond: 100, concurrency: 1 }, { pauseMs: 10, maxPauseMs: 40 });
    const c = client({
      limiter,
      classify: (res) =>
        (res.json as { code?: number }).code === 310039 ? { kind: 'retry', reason: 't.310039', message: 'throttled', rateLimited: true } : { kind: 'ok' },
    });
    const started = Date.now();
    const res = await c.request({ method: 'POST', url: `${base}/save`, json: { a: 1 } });
    expect(res.json).toMatchObject({ code: 200 });
    // 8 refusals, then the answer: twice the policy's 4 attempts
    expect(hits.get('/save')).toBe(9);
    expect(limiter.stats.rateLimitedAnswers).toBe(8);
    // the waits were the limiter's pauses (10, 20, 40, 40 … ms), not a back-off of the client's own
    const paused = 10 + 20 + 40 * 6;
    expect(Date.now() - started).toBeGreaterThanOrEqual(paused);
    expect(limiter.stats.throttledMs).toBeGreaterThanOrEqual(paused - 8);
  });
});
