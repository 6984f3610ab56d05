import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisLimiter } from '../src/workers/redis-limiter.js';
import { busiestWindow } from './sliding-window.js';

const REDIS_URL = process.env.QIAO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const HAMMER = fileURLToPath(new URL('./fixtures/limiter-hammer.mjs', import.meta.url));

/** A local HTTP server that notes when each request arrives. */
async function countingServer(): Promise<{ url: string; arrivals: number[]; close: () => Promise<void> }> {
  const arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    // each process warms its HTTP client up with one request first: not counted
    if (req.url === '/') arrivals.push(performance.now());
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return { url, arrivals, close: () => new Promise((r) => server.close(() => r())) };
}

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [HAMMER], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('RedisLimiter: one rate per app, shared by every process', () => {
  const redis = new Redis(REDIS_URL);
  const keys: string[] = [];
  const newKey = () => {
    const k = `qiao:limit:test:${randomBytes(4).toString('hex')}`;
    keys.push(k, `${k}:adaptive`);
    return k;
  };
  afterAll(async () => {
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('4 processes hammering one key never exceed R in any sliding second at the server', async () => {
    const server = await countingServer();
    const R = 20;
    const key = newKey();
    try {
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 4 }, () => run({ REDIS_URL, LIMIT_KEY: key, RATE: String(R), REQUESTS: '25', TARGET_URL: server.url })));
      const seconds = (performance.now() - started) / 1000;
      for (const r of results) expect(r.stderr).toBe('');
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
      expect(server.arrivals).toHaveLength(100);
      expect(busiestWindow(server.arrivals)).toBeLessThanOrEqual(R);
      // and the limit is a limit, not a stall: 100 requests at 20/s take about 5 s, not much more
      expect(busiestWindow(server.arrivals)).toBeGreaterThanOrEqual(R - 4);
      expect(seconds).toBeLessThan(30);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a rate-limit answer seen by one process pauses and slows down the others', async () => {
    const key = newKey();
    const a = new Redis(REDIS_URL);
    const b = new Redis(REDIS_URL);
    try {
      const limits = { requestsPerSecond: 10, concurrency: 4 };
      const one = new RedisLimiter(limits, { redis: a, key, where: 'test', climbMs: 60_000 });
      const other = new RedisLimiter(limits, { redis: b, key, where: 'test', climbMs: 60_000 });
      const startedAt = Date.now();
      await one.schedule(async () => undefined);
      one.observe({ rateLimited: true, retryAfterMs: 1500, startedAt });
      await new Promise((r) => setTimeout(r, 100));
      const times: number[] = [];
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 4 }, () => other.schedule(async () => void times.push(Date.now() - t0))));
      // paused for the answer's Retry-After, then spaced at half the rate (5/s: 200 ms apart)
      expect(Math.min(...times)).toBeGreaterThanOrEqual(1200);
      const sorted = times.sort((x, y) => x - y);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(180);
      expect(Number(await redis.hget(`${key}:adaptive`, 'rate'))).toBe(5);
      expect(other.stats.throttledMs).toBeGreaterThan(1000);
    } finally {
      await a.quit();
      await b.quit();
    }
  }, 30_000);

  it('Redis out of reach: the request fails naming Redis and what to do, nothing is sent', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    down.on('error', () => undefined);
    const limiter = new RedisLimiter({ requestsPerSecond: 5 }, { redis: down, key: newKey(), where: '127.0.0.1:1' });
    let sent = 0;
    const e = await limiter.schedule(async () => void sent++).catch((x: unknown) => x as Error & { hint?: string; system?: string });
    expect(sent).toBe(0);
    expect(e).toMatchObject({ system: 'redis', reason: 'redis.unavailable' });
    expect((e as Error).message).toContain('Redis at 127.0.0.1:1 cannot be reached');
    expect((e as { hint?: string }).hint).toContain('start Redis');
  });
});
