import PQueue from 'p-queue';
import type { Limiter as LimiterContract, LimiterStats, Limits } from '../contracts/limits.js';
import { SchemeError } from '../errors/errors.js';

/**
 * The default {@link LimiterContract | Limiter}: one p-queue per connection, with `concurrency` and,
 * when a rate is set, `interval`/`intervalCap` in `strict` mode — a sliding window, so no interval,
 * wherever it starts, holds more than the cap, whichever way the system counts its own windows.
 * Requests start in the order they were scheduled.
 */
export class QueueLimiter implements LimiterContract {
  readonly limits: Limits & { concurrency: number };
  /** Length of the sliding window in ms (0: no rate) and the starts it may hold. */
  readonly window: { interval: number; intervalCap: number };
  private readonly queue: PQueue;
  private started = 0;

  /** @throws SchemeError when a limit is not a positive finite number. */
  constructor(limits: Limits = {}) {
    const concurrency = limits.concurrency ?? 4;
    check('concurrency', concurrency, '>= 1', concurrency >= 1);
    if (limits.requestsPerSecond !== undefined) check('requestsPerSecond', limits.requestsPerSecond, '> 0', limits.requestsPerSecond > 0);
    if (limits.requestsPerMinute !== undefined) check('requestsPerMinute', limits.requestsPerMinute, '> 0', limits.requestsPerMinute > 0);
    this.limits = { ...limits, concurrency };
    this.window = rateWindow(limits);
    this.queue =
      this.window.interval > 0
        ? new PQueue({ concurrency, interval: this.window.interval, intervalCap: this.window.intervalCap, strict: true })
        : new PQueue({ concurrency });
  }

  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.add(
      () => {
        this.started++;
        return fn();
      },
      signal ? { signal } : undefined,
    );
  }

  get stats(): LimiterStats {
    return { started: this.started, waiting: this.queue.size, running: this.queue.pending };
  }

  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }
}

/** Builds the default limiter of a connection. */
export function createLimiter(limits: Limits = {}): LimiterContract {
  return new QueueLimiter(limits);
}

/**
 * `new Limiter(limits)` builds the default {@link QueueLimiter}; as a type, `Limiter` is the contract
 * (contracts/limits.ts) any implementation satisfies.
 */
export const Limiter = QueueLimiter;
export type Limiter = LimiterContract;

/**
 * The sliding window of the limits. Of two rates the stricter applies. A whole rate keeps its unit as
 * the window (10/s: 10 starts in any 1,000 ms); a fractional one becomes one start per 1/rate (0.5/s:
 * one start in any 2,000 ms), so it never allows a burst the rate does not.
 */
export function rateWindow(limits: Limits): { interval: number; intervalCap: number } {
  const perSecond = limits.requestsPerSecond;
  const perMinute = limits.requestsPerMinute;
  const useMinute = perMinute !== undefined && (perSecond === undefined || perMinute / 60 < perSecond);
  if (useMinute) return window(perMinute, 60_000);
  if (perSecond !== undefined) return window(perSecond, 1000);
  return { interval: 0, intervalCap: Number.POSITIVE_INFINITY };
}

function window(rate: number, unitMs: number): { interval: number; intervalCap: number } {
  if (rate >= 1 && Number.isInteger(rate)) return { interval: unitMs, intervalCap: rate };
  return { interval: Math.ceil(unitMs / rate), intervalCap: 1 };
}

function check(name: keyof Limits, value: number, bound: string, ok: boolean): void {
  if (Number.isFinite(value) && ok) return;
  throw new SchemeError([
    {
      file: 'limits',
      pointer: `/${name}`,
      expected: `\`${name}\` to be a finite number ${bound}`,
      found: String(value),
      hint: `set limits.${name} of the connection in the scheme to a positive number`,
    },
  ]);
}
