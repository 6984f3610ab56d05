import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLimiter, Limiter, QueueLimiter, rateWindow, SchemeError } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Limiter', () => {
  it('keeps a configured rate per second (sliding window), with fake timers', async () => {
    vi.useFakeTimers();
    const limiter = new Limiter({ requestsPerSecond: 5, concurrency: 10 });
    const starts: number[] = [];
    const t0 = Date.now();
    const all = Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.schedule(async () => {
          starts.push(Date.now() - t0);
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await all;
    expect(starts).toHaveLength(20);
    // no window of one second holds more than 5 starts
    for (const s of starts) expect(starts.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(5);
    // and the limiter does not dawdle: 20 starts at 5/s take about 3 s after the first
    expect(Math.max(...starts)).toBeGreaterThanOrEqual(3000);
    expect(Math.max(...starts)).toBeLessThan(4100);
  });

  it('keeps a configured rate per minute', async () => {
    vi.useFakeTimers();
    const limiter = new Limiter({ requestsPerMinute: 30, concurrency: 4 });
    const starts: number[] = [];
    const t0 = Date.now();
    const all = Promise.all(Array.from({ length: 40 }, () => limiter.schedule(async () => void starts.push(Date.now() - t0))));
    await vi.advanceTimersByTimeAsync(130_000);
    await all;
    // 30 in the first minute, the other 10 once the first starts leave the window
    expect(starts.filter((s) => s < 60_000)).toHaveLength(30);
    expect(Math.min(...starts.slice(30))).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...starts)).toBeLessThan(61_000);
  });

  it('bounds concurrency', async () => {
    const limiter = new Limiter({ concurrency: 3 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        limiter.schedule(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(limiter.stats.started).toBe(12);
  });

  it('starts waiting requests in the order they were scheduled', async () => {
    const limiter = new Limiter({ concurrency: 2 });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.schedule(async () => {
          order.push(i);
          await new Promise((r) => setTimeout(r, 10 - i));
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('takes a waiting request out of the queue when its signal aborts, and keeps the slot for the next', async () => {
    const limiter = new Limiter({ concurrency: 1 });
    let release!: () => void;
    const first = limiter.schedule(() => new Promise<string>((r) => (release = () => r('first'))));
    const controller = new AbortController();
    const ran: string[] = [];
    const aborted = limiter.schedule(async () => void ran.push('aborted'), controller.signal);
    const third = limiter.schedule(async () => {
      ran.push('third');
      return 'third';
    });
    expect(limiter.stats).toEqual({ started: 1, waiting: 2, running: 1, throttledMs: 0, rateLimitedAnswers: 0, ratePerSecond: undefined });
    controller.abort(new Error('stop waiting'));
    await expect(aborted).rejects.toThrow('stop waiting');
    expect(limiter.stats.waiting).toBe(1);
    release();
    await expect(first).resolves.toBe('first');
    await expect(third).resolves.toBe('third');
    expect(ran).toEqual(['third']);
    await limiter.onIdle();
    expect(limiter.stats).toEqual({ started: 2, waiting: 0, running: 0, throttledMs: 0, rateLimitedAnswers: 0, ratePerSecond: undefined });
    // an already aborted signal never starts its function
    await expect(limiter.schedule(async () => void ran.push('late'), controller.signal)).rejects.toThrow('stop waiting');
    expect(ran).toEqual(['third']);
  });

  it('frees the slot of a function that throws or rejects', async () => {
    const limiter = new Limiter({ concurrency: 1 });
    await expect(
      limiter.schedule(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(limiter.schedule(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    await expect(limiter.schedule(async () => 'ok')).resolves.toBe('ok');
    expect(limiter.stats).toEqual({ started: 3, waiting: 0, running: 0, throttledMs: 0, rateLimitedAnswers: 0, ratePerSecond: undefined });
  });

  it('rejects nonsense limits with a clear message', () => {
    expect(() => new Limiter({ concurrency: 0 })).toThrow(SchemeError);
    expect(() => new Limiter({ requestsPerSecond: Number.NaN })).toThrow(/requestsPerSecond/);
  });

  it('names the limit, what it expected and what it got', () => {
    expect(() => new Limiter({ requestsPerSecond: 0 })).toThrow('expected `requestsPerSecond` to be a finite number > 0, found 0');
    expect(() => new Limiter({ requestsPerMinute: Number.POSITIVE_INFINITY })).toThrow(
      'expected `requestsPerMinute` to be a finite number > 0, found Infinity',
    );
    expect(() => new Limiter({ concurrency: 0.5 })).toThrow('limits at /concurrency: expected `concurrency` to be a finite number >= 1, found 0.5');
  });

  it('maps each rate to a sliding window and its cap; of two rates the stricter applies', () => {
    expect(rateWindow({ requestsPerSecond: 10 })).toEqual({ interval: 1000, intervalCap: 10 });
    expect(rateWindow({ requestsPerMinute: 45 })).toEqual({ interval: 60_000, intervalCap: 45 });
    // fractional rates: one start per 1/rate, never a burst the rate does not allow
    expect(rateWindow({ requestsPerSecond: 0.5 })).toEqual({ interval: 2000, intervalCap: 1 });
    expect(rateWindow({ requestsPerSecond: 2.5 })).toEqual({ interval: 400, intervalCap: 1 });
    expect(rateWindow({ requestsPerMinute: 0.5 })).toEqual({ interval: 120_000, intervalCap: 1 });
    // a manifest's default per second and a scheme's per minute: the per-minute quota is the one to keep
    expect(rateWindow({ requestsPerSecond: 10, requestsPerMinute: 60 })).toEqual({ interval: 60_000, intervalCap: 60 });
    expect(rateWindow({ requestsPerSecond: 10, requestsPerMinute: 6000 })).toEqual({ interval: 1000, intervalCap: 10 });
    expect(rateWindow({})).toEqual({ interval: 0, intervalCap: Number.POSITIVE_INFINITY });
    expect(new QueueLimiter({ requestsPerMinute: 45 }).window).toEqual({ interval: 60_000, intervalCap: 45 });
    expect(createLimiter({ concurrency: 3 }).limits).toEqual({ concurrency: 3 });
  });

  it('holds the 46th start of a 45-per-minute limit until the first leaves the window, with fake timers', async () => {
    vi.useFakeTimers();
    const limiter = new Limiter({ requestsPerMinute: 45, concurrency: 50 });
    const t0 = Date.now();
    const starts: number[] = [];
    const all = Promise.all(Array.from({ length: 46 }, () => limiter.schedule(async () => void starts.push(Date.now() - t0))));
    await vi.advanceTimersByTimeAsync(59_999);
    expect(starts).toHaveLength(45);
    expect(limiter.stats).toMatchObject({ started: 45, waiting: 1 });
    await vi.advanceTimersByTimeAsync(1);
    await all;
    expect(starts[45]).toBe(60_000);
  });

  it('never lets a sliding window hold more starts than the cap, in real time', async () => {
    // 10 a second with requests that take a while: starts come in bursts as the window allows
    const limiter = new Limiter({ requestsPerSecond: 10, concurrency: 10 });
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        limiter.schedule(async () => {
          starts.push(Date.now());
          await new Promise((r) => setTimeout(r, 5 + (i % 7) * 20));
        }),
      ),
    );
    for (const s of starts) expect(starts.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(10);
    // and it does not dawdle: 25 starts at 10/s need two full windows after the first start
    const span = Math.max(...starts) - Math.min(...starts);
    expect(span).toBeGreaterThanOrEqual(2000);
    expect(span).toBeLessThan(2400);
  });

  it('counts a burst late in one second against the start of the next (a window that slides, not a fixed one)', async () => {
    vi.useFakeTimers();
    const limiter = new Limiter({ requestsPerSecond: 10, concurrency: 20 });
    const t0 = Date.now();
    const starts: number[] = [];
    const run = () => limiter.schedule(async () => void starts.push(Date.now() - t0));
    const early = run();
    await vi.advanceTimersByTimeAsync(900);
    const late = Array.from({ length: 19 }, run);
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all([early, ...late]);
    for (const s of starts) expect(starts.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(10);
    // 1 at 0 and 9 at 900; at 1000 the first leaves the window, at 1900 the nine
    expect(starts).toEqual([0, ...Array(9).fill(900), 1000, ...Array(9).fill(1900)]);
  });
});
