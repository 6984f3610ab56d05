import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimiter, AdaptiveRate, createLimiter, Limiter } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Starts one request every `gap` ms from `from` on, each answered clean `latency` ms later. */
function runClean(rate: AdaptiveRate, from: number, count: number, gap: number, latency = 10): number {
  let t = from;
  for (let i = 0; i < count; i++, t += gap) {
    rate.started(t);
    rate.answered({ rateLimited: false, startedAt: t }, t + latency);
  }
  return t;
}

describe('AdaptiveRate (the rate control, clock passed in)', () => {
  it('adds nothing of its own until the system refuses a request', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 50, 100);
    expect(rate.rate).toBe(10);
    expect(rate.adapted).toBe(false);
    expect(rate.delay(5000)).toBe(0);
    expect(rate.stats).toEqual({ rateLimitedAnswers: 0, decreases: 0, increases: 0 });
  });

  it('on a refusal pauses and lowers the rate; refusals of requests sent before that change nothing', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100); // 20 let through at the ceiling, then the window is full
    rate.started(2000);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2010);
    expect(rate.rate).toBeCloseTo(9); // 10 × 0.9
    expect(rate.adapted).toBe(true);
    expect(rate.pausedUntil).toBe(2260); // 250 ms
    expect(rate.delay(2010)).toBe(250);
    // three more requests sent with the first are refused too: old news
    for (const t of [2001, 2002, 2003]) rate.answered({ rateLimited: true, startedAt: t }, 2015);
    expect(rate.stats).toEqual({ rateLimitedAnswers: 4, decreases: 1, increases: 0 });
    expect(rate.pausedUntil).toBe(2260);
    // the first request after the pause is refused again: the window is still full — a longer pause,
    // the same rate (a full window says nothing about the rate)
    rate.started(2260);
    rate.answered({ rateLimited: true, startedAt: 2260 }, 2270);
    expect(rate.pausedUntil).toBe(2770); // 500 ms
    expect(rate.rate).toBeCloseTo(9);
    rate.started(2770);
    rate.answered({ rateLimited: true, startedAt: 2770 }, 2780);
    expect(rate.pausedUntil).toBe(3780); // 1,000 ms
    expect(rate.stats.decreases).toBe(1);
  });

  it('spaces starts 1000 / rate ms apart while below the ceiling', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2000);
    rate.started(2250);
    expect(rate.delay(2250)).toBeCloseTo(1000 / 9, 5);
    expect(rate.delay(2300)).toBeCloseTo(1000 / 9 - 50, 5);
  });

  it('honours a Retry-After longer than its own pause', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    rate.answered({ rateLimited: true, retryAfterMs: 7000, startedAt: 0 }, 100);
    expect(rate.delay(100)).toBe(7000);
  });

  it('goes straight down to what the system let through when it runs far above it', () => {
    // 20 per 5 s get through; qiao starts at 10 a second
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100);
    rate.started(2000);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2000);
    expect(rate.rate).toBeCloseTo(9, 5);
    // the window opens again at 5 s, 20 more get through at 9 a second, then a refusal
    const t = runClean(rate, 5000, 20, 1000 / 9);
    rate.started(t);
    rate.answered({ rateLimited: true, startedAt: t }, t + 10);
    // not one decrease (to about 8): the last 40 answers let through came over 7.2 s, 5.5 a second
    expect(rate.rate).toBeCloseTo(40_000 / (t + 10 - 10), 5);
    expect(rate.rate).toBeLessThan(5.6);
  });

  it('climbs back after stretches of clean answers, by a small step, and never above the ceiling', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100);
    rate.started(2000);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2000);
    const low = rate.rate;
    // a stretch is as many clean answers as got through before the first refusal (20), and 1 s at least
    let t = runClean(rate, 2300, 19, 1000 / low);
    expect(rate.rate).toBe(low);
    t = runClean(rate, t, 1, 1000 / low);
    expect(rate.rate).toBeCloseTo(low + 0.05 * low, 5);
    expect(rate.stats.increases).toBe(1);
    // enough clean stretches bring it back to the ceiling, and no further
    runClean(rate, t, 1000, 100);
    expect(rate.rate).toBe(10);
    expect(rate.adapted).toBe(false);
    expect(rate.delay(1e9)).toBe(0);
  });

  it('never falls below its floor', () => {
    const rate = new AdaptiveRate({ ceiling: 10, floor: 1 });
    let t = 0;
    for (let i = 0; i < 60; i++) {
      t += 60_000;
      rate.started(t);
      rate.answered({ rateLimited: false, startedAt: t }, t + 1); // one clean answer between refusals
      rate.started(t + 2);
      rate.answered({ rateLimited: true, startedAt: t + 2 }, t + 3);
    }
    expect(rate.rate).toBe(1);
  });

  it('without a configured rate, lowers the rate it measured', () => {
    const rate = new AdaptiveRate({ ceiling: Number.POSITIVE_INFINITY });
    runClean(rate, 0, 16, 20); // 50 a second
    expect(rate.adapted).toBe(false);
    rate.answered({ rateLimited: true, startedAt: 320 }, 330);
    expect(rate.rate).toBeCloseTo(45, 0);
    expect(rate.adapted).toBe(true);
  });
});

describe('AdaptiveLimiter', () => {
  it('is the limiter new Limiter() and createLimiter() build', () => {
    expect(new Limiter({ requestsPerSecond: 10 })).toBeInstanceOf(AdaptiveLimiter);
    const limiter = createLimiter({ requestsPerSecond: 10 });
    expect(limiter).toBeInstanceOf(AdaptiveLimiter);
    expect(limiter.adaptive).toBe(true);
    expect(limiter.stats.ratePerSecond).toBe(10);
    expect(createLimiter({ requestsPerMinute: 45 }).stats.ratePerSecond).toBe(0.75);
  });

  it('holds every start during a pause, then spaces them at the learned rate, and counts the time held', async () => {
    vi.useFakeTimers();
    const limiter = new Limiter({ requestsPerSecond: 10, concurrency: 4 });
    const t0 = Date.now();
    const starts: number[] = [];
    const run = () => limiter.schedule(async () => void starts.push(Date.now() - t0));
    // 20 at the ceiling: the sliding window of 10/s lets 10 through at 0 and 10 at 1000
    const first = Array.from({ length: 20 }, run);
    await vi.advanceTimersByTimeAsync(2500);
    await Promise.all(first);
    expect(starts.filter((s) => s < 1000)).toHaveLength(10);
    expect(limiter.stats.throttledMs).toBe(0);
    // at 2500 the system refuses one sent at 1000
    limiter.observe({ rateLimited: true, startedAt: t0 + 1000 });
    const rate = limiter.stats.ratePerSecond ?? 0;
    expect(rate).toBeCloseTo(9, 5);
    expect(limiter.control.pausedUntil).toBe(t0 + 2750);
    const later = Array.from({ length: 5 }, run);
    await vi.advanceTimersByTimeAsync(0);
    expect(limiter.stats).toMatchObject({ waiting: 5, running: 0 });
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(later);
    const after = starts.slice(20);
    expect(after[0]).toBe(2750);
    for (let i = 1; i < after.length; i++) expect((after[i] as number) - (after[i - 1] as number)).toBeGreaterThanOrEqual(Math.floor(1000 / rate));
    // held: the 250 ms pause and the four gaps of 1000 / 9 ms after it (the ceiling alone allows them all at once)
    expect(after[4]).toBeGreaterThanOrEqual(2750 + 444);
    expect(Math.abs((limiter.stats.throttledMs ?? 0) - (250 + (after[4] as number) - 2750))).toBeLessThanOrEqual(1);
    expect(limiter.stats).toMatchObject({ started: 25, waiting: 0, running: 0, rateLimitedAnswers: 1 });
  });

  it('lets a request held in a pause leave when its signal aborts', async () => {
    vi.useFakeTimers();
    const limiter = new Limiter({ concurrency: 2 });
    limiter.observe({ rateLimited: true, retryAfterMs: 10_000 });
    const controller = new AbortController();
    const ran: string[] = [];
    const held = limiter.schedule(async () => void ran.push('held'), controller.signal);
    const other = limiter.schedule(async () => void ran.push('other'));
    await vi.advanceTimersByTimeAsync(100);
    expect(limiter.stats).toMatchObject({ waiting: 2, running: 0 });
    controller.abort(new Error('stop'));
    await expect(held).rejects.toThrow('stop');
    await vi.advanceTimersByTimeAsync(10_000);
    await other;
    expect(ran).toEqual(['other']);
    expect(limiter.stats).toMatchObject({ started: 1, waiting: 0, running: 0 });
  });
});
