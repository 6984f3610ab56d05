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

  it('pauses on a refusal; lowers the rate only when the first request after the pause is refused too', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100); // 20 let through at the ceiling, then the window is full
    rate.started(2000);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2010);
    // a pause of two starts' worth at 10/s, the rate kept: a refusal alone may be a busy platform
    expect(rate.pausedUntil).toBe(2210);
    expect(rate.delay(2010)).toBe(200);
    expect(rate.rate).toBe(10);
    // three more requests sent with the first are refused too: old news
    for (const t of [2001, 2002, 2003]) rate.answered({ rateLimited: true, startedAt: t }, 2015);
    expect(rate.stats).toEqual({ rateLimitedAnswers: 4, decreases: 0, increases: 0 });
    expect(rate.pausedUntil).toBe(2210);
    // the first request after the pause is refused: the rate is too high — 0.9 × the rate measured
    // over the last 16 starts (600 … 1900, 2000, 2210: 9.3/s), and twice the pause of two starts at it
    rate.started(2210);
    rate.answered({ rateLimited: true, startedAt: 2210 }, 2220);
    expect(rate.rate).toBeCloseTo((0.9 * 15_000) / 1610, 5);
    expect(rate.adapted).toBe(true);
    expect(rate.pausedUntil - 2220).toBeCloseTo((2 * 2000 * 1610) / 15_000, 5);
    expect(rate.stats.decreases).toBe(1);
    // still refused after that: the window is still full — a longer pause, the same rate
    const lowered = rate.rate;
    rate.started(2650);
    rate.answered({ rateLimited: true, startedAt: 2650 }, 2660);
    expect(rate.pausedUntil).toBe(2660 + 4 * 250);
    expect(rate.rate).toBe(lowered);
    expect(rate.stats.decreases).toBe(1);
    // a clean answer ends the run of refusals: the next refusal alone pauses again, briefly
    rate.started(3660);
    rate.answered({ rateLimited: false, startedAt: 3660 }, 3670);
    rate.started(3800);
    rate.answered({ rateLimited: true, startedAt: 3800 }, 3810);
    expect(rate.rate).toBe(lowered);
    expect(rate.pausedUntil).toBe(3810 + 250);
  });

  it('spaces starts 1000 / rate ms apart while below the ceiling', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2000);
    rate.answered({ rateLimited: true, startedAt: 2100 }, 2100);
    const r = rate.rate;
    expect(r).toBeLessThan(10);
    rate.started(2500);
    expect(rate.delay(2500)).toBeCloseTo(1000 / r, 5);
    expect(rate.delay(2550)).toBeCloseTo(1000 / r - 50, 5);
  });

  it('honours a Retry-After longer than its own pause', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    rate.answered({ rateLimited: true, retryAfterMs: 7000, startedAt: 0 }, 100);
    expect(rate.delay(100)).toBe(7000);
  });

  it('goes straight down to what the system let through when it runs far above it', () => {
    // 60 per minute get through (YonBIP's published quota); qiao starts at 10 a second
    const rate = new AdaptiveRate({ ceiling: 10 });
    let t = runClean(rate, 0, 60, 100);
    rate.answered({ rateLimited: true, startedAt: t }, t);
    rate.answered({ rateLimited: true, startedAt: t + 200 }, t + 200);
    expect(rate.rate).toBeCloseTo(9, 5); // 60 got through in 6 s: nothing to go by yet
    // the window opens again at 60 s; 60 more get through at 9 a second, then two refusals in a row
    t = runClean(rate, 60_000, 60, 1000 / 9);
    rate.answered({ rateLimited: true, startedAt: t }, t);
    rate.answered({ rateLimited: true, startedAt: t + 300 }, t + 300);
    // not one decrease (to about 8): the last 120 answers let through came over 66.8 s, 1.8 a second
    expect(rate.rate).toBeCloseTo(120_000 / (t + 300 - 10), 5);
    expect(rate.rate).toBeLessThan(1.9);
  });

  it('climbs back after stretches of clean answers, by a small step, and never above the ceiling', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2000);
    rate.answered({ rateLimited: true, startedAt: 2100 }, 2100);
    const low = rate.rate;
    expect(low).toBeLessThan(10);
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

  it('starts the stretch again on a refusal that comes alone, without lowering the rate', () => {
    const rate = new AdaptiveRate({ ceiling: 10 });
    runClean(rate, 0, 20, 100);
    rate.answered({ rateLimited: true, startedAt: 2000 }, 2000);
    rate.answered({ rateLimited: true, startedAt: 2100 }, 2100);
    const low = rate.rate;
    let t = runClean(rate, 2500, 19, 1000 / low);
    rate.answered({ rateLimited: true, startedAt: t }, t); // alone: the next answer is clean
    t = runClean(rate, t + 300, 1, 1000 / low);
    expect(rate.rate).toBe(low);
    // 20 clean answers counted from the refusal make the stretch
    t = runClean(rate, t, 18, 1000 / low);
    expect(rate.rate).toBe(low);
    runClean(rate, t, 1, 1000 / low);
    expect(rate.rate).toBeCloseTo(low * 1.05, 5);
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
      rate.answered({ rateLimited: true, startedAt: t + 4 }, t + 5);
    }
    expect(rate.rate).toBe(1);
  });

  it('without a configured rate, lowers the rate it measured', () => {
    const rate = new AdaptiveRate({ ceiling: Number.POSITIVE_INFINITY });
    runClean(rate, 0, 16, 20); // 50 a second
    expect(rate.adapted).toBe(false);
    rate.answered({ rateLimited: true, startedAt: 300 }, 310);
    rate.answered({ rateLimited: true, startedAt: 310 }, 320);
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
    // at 2500 the system refuses one sent at 1000 (a pause of 200 ms), then one sent after it
    limiter.observe({ rateLimited: true, startedAt: t0 + 1000 });
    expect(limiter.control.pausedUntil).toBe(t0 + 2700);
    expect(limiter.stats.ratePerSecond).toBe(10);
    limiter.observe({ rateLimited: true, startedAt: t0 + 2500 });
    const rate = limiter.stats.ratePerSecond ?? 0;
    expect(rate).toBeCloseTo(9, 5);
    expect(limiter.control.pausedUntil).toBe(t0 + 2900);
    const later = Array.from({ length: 5 }, run);
    await vi.advanceTimersByTimeAsync(0);
    expect(limiter.stats).toMatchObject({ waiting: 5, running: 0 });
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(later);
    const after = starts.slice(20);
    expect(after[0]).toBe(2900);
    for (let i = 1; i < after.length; i++) expect((after[i] as number) - (after[i - 1] as number)).toBeGreaterThanOrEqual(Math.floor(1000 / rate));
    // held: the 400 ms pause and the four gaps of 1000 / 9 ms after it (the ceiling alone allows them all at once)
    expect(after[4]).toBeGreaterThanOrEqual(2900 + 444);
    expect(Math.abs((limiter.stats.throttledMs ?? 0) - (400 + (after[4] as number) - 2900))).toBeLessThanOrEqual(1);
    expect(limiter.stats).toMatchObject({ started: 25, waiting: 0, running: 0, rateLimitedAnswers: 2 });
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
