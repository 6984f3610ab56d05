import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  ConnectorAuthError,
  DEFAULT_MAX_THROTTLE_MS,
  defaultRetryPolicy,
  HttpClient,
  isRateLimited,
  Limiter,
  markRateLimited,
  parseRetryAfter,
  QueueLimiter,
  RecordError,
  RetryableError,
  silentLogger,
  TokenCache,
  withRetry,
  type Classification,
  type HttpResponse,
} from '../src/index.js';

const policy = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 50, maxElapsedMs: 5000 };

describe('backoff', () => {
  it('grows exponentially with jitter between half and all of the step, capped', () => {
    const p = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 };
    expect(backoffDelay(1, p, undefined, () => 0)).toBe(50);
    expect(backoffDelay(1, p, undefined, () => 1)).toBe(100);
    expect(backoffDelay(3, p, undefined, () => 1)).toBe(400);
    expect(backoffDelay(8, p, undefined, () => 1)).toBe(1000);
  });

  it('never waits less than Retry-After', () => {
    const p = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 };
    expect(backoffDelay(1, p, 3000, () => 0)).toBe(3000);
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
  });

  it('retries RetryableError up to the attempt budget, then throws it', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new RetryableError('busy');
      }, policy),
    ).rejects.toThrow('busy');
    expect(calls).toBe(5);
  });

  it('gives token refreshes a budget of their own: expiring tokens do not use up the retries faults need', async () => {
    let calls = 0;
    let refreshes = 0;
    // a token refused and a fault, turn about, four times each, then success
    const result = await withRetry(
      async () => {
        calls++;
        if (calls <= 8) throw calls % 2 ? new RetryableError('expired', { tokenExpired: true }) : new RetryableError('busy');
        return 'ok';
      },
      policy,
      { refreshToken: async () => void refreshes++, random: () => 0 },
    );
    expect(result).toBe('ok');
    expect([calls, refreshes]).toEqual([9, 4]);
    // a token refused every time is given up after the budget of refreshes
    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new RetryableError('expired', { tokenExpired: true });
        },
        policy,
        { refreshToken: async () => undefined },
      ),
    ).rejects.toThrow('expired');
    expect(calls).toBe(policy.maxAttempts);
  });

  it('repeats refusals for the rate limit without spending the attempts, until maxThrottleMs', async () => {
    let calls = 0;
    let now = 0;
    const delays: number[] = [];
    // 20 refusals then success, with a policy of 5 attempts: a quota slows the request, it does not fail it
    const result = await withRetry(
      async () => {
        calls++;
        now += 1000; // each attempt waits a second in the limiter
        if (calls <= 20) throw markRateLimited(new RetryableError('310039'));
        return 'ok';
      },
      policy,
      { now: () => now, throttleDelay: (_e, n) => (delays.push(n), 0) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(21);
    expect(delays).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // refused for longer than maxThrottleMs since the first refusal: given up, the last refusal thrown
    calls = 0;
    now = 0;
    const e = await withRetry(
      async () => {
        calls++;
        now += 1000;
        throw markRateLimited(new RetryableError('still 310039'));
      },
      { ...policy, maxThrottleMs: 10_000 },
      { now: () => now, throttleDelay: () => 0 },
    ).catch((x: unknown) => x);
    expect(isRateLimited(e)).toBe(true);
    expect((e as Error).message).toBe('still 310039');
    // refused at 1 s, 2 s, … 11 s (10 s after the first: still within), given up at 12 s
    expect(calls).toBe(12);
    expect(defaultRetryPolicy.maxThrottleMs).toBe(DEFAULT_MAX_THROTTLE_MS);
  });

  it('leaves the time spent refused for the rate limit out of maxElapsedMs, and the attempts to faults', async () => {
    let calls = 0;
    let now = 0;
    // a minute of refusals, then four faults: within 5 attempts and 5 s of faults
    const result = await withRetry(
      async () => {
        calls++;
        if (calls <= 60) {
          now += 1000;
          throw markRateLimited(new RetryableError('310039'));
        }
        if (calls <= 64) throw new RetryableError('busy');
        return 'ok';
      },
      policy,
      { now: () => now, throttleDelay: () => 0, random: () => 0 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(65);
  });

  it('waits a back-off of its own before repeating a refusal when the limiter does not hold it', async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls <= 3) throw markRateLimited(new RetryableError('429', { retryAfterMs: 20 }));
        return 'ok';
      },
      policy,
      { onRetry: (_e, _n, d) => void delays.push(d), random: () => 1 },
    );
    // 5, 10, 20 ms steps, never less than the 20 ms Retry-After
    expect(delays).toEqual([20, 20, 20]);
  });

  it('does not retry other errors, nor writes whose outcome is unknown', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new RecordError('bad');
      }, policy),
    ).rejects.toBeInstanceOf(RecordError);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new RetryableError('timeout', { outcomeUnknown: true });
      }, policy),
    ).rejects.toThrow('timeout');
    expect(calls).toBe(1);
  });
});

describe('HttpClient classification and retries (local server)', () => {
  let server: ReturnType<typeof createServer>;
  let base: string;
  const script: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
  let hits = 0;
  let tokensIssued = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/token')) {
        tokensIssued++;
        res.end(JSON.stringify({ token: `t${tokensIssued}` }));
        return;
      }
      hits++;
      const step = script.shift();
      if (step) step(req, res);
      else res.end(JSON.stringify({ code: 200, auth: req.headers.authorization, id: 1481709712348020742n.toString() }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const classify = (res: HttpResponse): Classification => {
    const body = res.json as { code?: number; error?: string } | undefined;
    if (res.status === 401 || body?.error === 'expired') return { kind: 'token_expired', reason: 't.expired', message: 'token expired' };
    if (res.status === 403) return { kind: 'auth', reason: 't.auth', message: 'refused', hint: 'check the key' };
    if (res.status === 429 || res.status >= 500) return { kind: 'retry', reason: 't.busy', message: `HTTP ${res.status}` };
    if (body === undefined) return { kind: 'retry', reason: 't.garbled', message: 'not JSON' };
    if (body.code === 999) return { kind: 'record', reason: 't.999', message: 'rejected' };
    return { kind: 'ok' };
  };

  const makeClient = (secrets: string[] = []) => {
    const tokens = new TokenCache(async () => {
      const res = await fetch(`${base}/token`);
      const { token } = (await res.json()) as { token: string };
      return { token, expiresInMs: 3_600_000 };
    });
    return new HttpClient({
      system: 't',
      label: 'Test',
      limiter: new Limiter({ concurrency: 4 }),
      retry: policy,
      logger: silentLogger,
      secrets,
      timeoutMs: 300,
      classify,
      auth: { token: () => tokens.get(), peek: () => tokens.peek(), refresh: (s) => tokens.refresh(s), apply: (r, t) => ({ ...r, headers: { ...r.headers, authorization: t } }) },
    });
  };

  it('TokenCache.peek gives the cached token only while it is fresh and no refresh is under way', async () => {
    let now = 0;
    let n = 0;
    let finish!: () => void;
    const cache = new TokenCache(
      () =>
        new Promise((resolve) => {
          n++;
          finish = () => resolve({ token: `k${n}`, expiresInMs: 1000 });
        }),
      { now: () => now },
    );
    expect(cache.peek()).toBeUndefined();
    const first = cache.get();
    finish();
    await expect(first).resolves.toBe('k1');
    expect(cache.peek()).toBe('k1');
    const refreshing = cache.refresh('k1');
    expect(cache.peek()).toBeUndefined();
    finish();
    await refreshing;
    expect(cache.peek()).toBe('k2');
    now = 901; // within the last 10% of its life: due for a refresh
    expect(cache.peek()).toBeUndefined();
  });

  it('aborts every request in flight on a signal, and only those: finished ones free their place for later requests', async () => {
    const client = makeClient();
    const controller = new AbortController();
    // two requests that complete, then three that hang until the signal aborts
    await Promise.all([client.request({ method: 'GET', url: `${base}/a` }, controller.signal), client.request({ method: 'GET', url: `${base}/b` }, controller.signal)]);
    const hung: ServerResponse[] = [];
    for (let i = 0; i < 3; i++) script.push((_q, r) => void hung.push(r));
    const pending = Array.from({ length: 3 }, () => client.request({ method: 'GET', url: `${base}/hang` }, controller.signal).then(
      () => 'answered',
      (e: Error) => e.name,
    ));
    const other = client.request({ method: 'GET', url: `${base}/c` });
    await expect(other).resolves.toMatchObject({ status: 200 });
    while (hung.length < 3) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(await Promise.all(pending)).toEqual(['AbortError', 'AbortError', 'AbortError']);
    for (const r of hung) r.destroy();
    // a new signal works as before
    await expect(client.request({ method: 'GET', url: `${base}/d` }, new AbortController().signal)).resolves.toMatchObject({ status: 200 });
  });

  it('retries 5xx, 429 and garbled bodies, honouring Retry-After', async () => {
    hits = 0;
    script.push(
      (_q, s) => void s.writeHead(503).end('down'),
      (_q, s) => void s.writeHead(429, { 'retry-after': '0' }).end('{}'),
      (_q, s) => void s.writeHead(200, { 'content-type': 'text/html' }).end('<html>error</html>'),
    );
    const client = makeClient();
    const res = await client.request({ method: 'GET', url: `${base}/x` });
    expect(hits).toBe(4);
    expect(client.stats.retries).toBe(3);
    expect((res.json as { code: number }).code).toBe(200);
  });

  it('refreshes an expired token once for all requests in flight, and repeats them', async () => {
    const client = makeClient();
    await client.request({ method: 'GET', url: `${base}/warm` });
    const before = tokensIssued;
    for (let i = 0; i < 4; i++) script.push((_q, s) => void s.writeHead(401).end('{"error":"expired"}'));
    const results = await Promise.all(Array.from({ length: 4 }, () => client.request({ method: 'GET', url: `${base}/y` })));
    expect(results.every((r) => (r.json as { auth: string }).auth === `t${before + 1}`)).toBe(true);
    expect(tokensIssued).toBe(before + 1);
  });

  it('turns record errors into RecordError and auth refusals into ConnectorAuthError, without retrying', async () => {
    hits = 0;
    script.push((_q, s) => void s.end('{"code":999}'));
    await expect(makeClient().request({ method: 'GET', url: `${base}/r` })).rejects.toBeInstanceOf(RecordError);
    script.push((_q, s) => void s.writeHead(403).end('{}'));
    const e = await makeClient().request({ method: 'GET', url: `${base}/a` }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectorAuthError);
    expect((e as ConnectorAuthError).hint).toBe('check the key');
    expect(hits).toBe(2);
  });

  it('repeats a POST refused for the rate limit, beyond the attempts, on HTTP 200 or even 503: it was not applied', async () => {
    hits = 0;
    for (let i = 0; i < 7; i++) script.push((_q, s) => void s.writeHead(i % 2 ? 503 : 200).end('{"code":310039}'));
    const client = new HttpClient({
      system: 't',
      label: 'Test',
      limiter: new QueueLimiter({ concurrency: 1 }),
      retry: policy,
      logger: silentLogger,
      secrets: [],
      classify: (res) =>
        (res.json as { code?: number } | undefined)?.code === 310039
          ? { kind: 'retry', reason: 't.310039', message: 'throttled', rateLimited: true, retryAfterMs: 1 }
          : { kind: 'ok' },
    });
    const res = await client.request({ method: 'POST', url: `${base}/save`, json: { a: 1 } });
    expect(res.status).toBe(200);
    // 7 refusals and the success: more than the policy's 5 attempts, none taken for an unknown outcome
    expect(hits).toBe(8);
    expect(client.stats.retries).toBe(7);
  });

  it('does not repeat a POST that timed out after sending: the outcome is unknown', async () => {
    hits = 0;
    script.push(() => {
      /* never answers */
    });
    const e = await makeClient().request({ method: 'POST', url: `${base}/save`, json: { a: 1 } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).outcomeUnknown).toBe(true);
    expect(hits).toBe(1);
  });

  it('keeps secrets out of error messages', async () => {
    script.push((_q, s) => void s.writeHead(403).end('{}'));
    const e = (await makeClient(['s3cr3t-value'])
      .request({ method: 'GET', url: `${base}/a`, name: 'call with s3cr3t-value' })
      .catch((x: unknown) => x)) as Error;
    expect(e.message).not.toContain('s3cr3t-value');
    expect(e.message).toContain('***');
  });
});
