import { afterEach, describe, expect, it, vi } from 'vitest';
import { Limiter, SchemeError } from '../src/index.js';

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

  it('rejects nonsense limits with a clear message', () => {
    expect(() => new Limiter({ concurrency: 0 })).toThrow(SchemeError);
    expect(() => new Limiter({ requestsPerSecond: Number.NaN })).toThrow(/requestsPerSecond/);
  });
});
