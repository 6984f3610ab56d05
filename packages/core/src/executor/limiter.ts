import PQueue from 'p-queue';
import { SchemeError } from '../errors/errors.js';

/** Limits of one connection. Every request of the connection passes through one {@link Limiter}. */
export interface Limits {
  /** Requests started per second (sliding window). */
  requestsPerSecond?: number;
  /** Requests started per minute (sliding window); used when `requestsPerSecond` is absent. */
  requestsPerMinute?: number;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
}

export interface LimiterStats {
  /** Requests started through this limiter. */
  started: number;
  /** Requests waiting for a slot right now. */
  waiting: number;
  /** Requests running right now. */
  running: number;
}

/**
 * A per-connection rate and concurrency limiter on p-queue. The rate is a strict sliding window, so no
 * window of one interval ever holds more than the configured number of starts, whichever way the
 * system counts its own windows.
 */
export class Limiter {
  readonly limits: Required<Pick<Limits, 'concurrency'>> & Limits;
  private readonly queue: PQueue;
  private startedCount = 0;

  constructor(limits: Limits = {}) {
    const concurrency = limits.concurrency ?? 4;
    check('concurrency', concurrency, 1);
    if (limits.requestsPerSecond !== undefined) check('requestsPerSecond', limits.requestsPerSecond, 0.001);
    if (limits.requestsPerMinute !== undefined) check('requestsPerMinute', limits.requestsPerMinute, 0.001);
    this.limits = { ...limits, concurrency };
    let interval = 0;
    let intervalCap = Number.POSITIVE_INFINITY;
    if (limits.requestsPerSecond) {
      ({ interval, intervalCap } = window(limits.requestsPerSecond, 1000));
    } else if (limits.requestsPerMinute) {
      ({ interval, intervalCap } = window(limits.requestsPerMinute, 60_000));
    }
    this.queue =
      interval > 0
        ? new PQueue({ concurrency, interval, intervalCap, strict: true })
        : new PQueue({ concurrency });
  }

  /**
   * Runs `fn` when a slot is free within the limits. A request waiting for a slot leaves the queue when
   * `signal` aborts; one that starts at once gets no listener (what `fn` runs honours the signal itself),
   * which saves p-queue two listeners and a race per request.
   */
  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const startsNow = this.queue.size === 0 && this.queue.pending < this.limits.concurrency && !this.queue.isRateLimited;
    return this.queue.add(
      () => {
        this.startedCount++;
        return fn();
      },
      signal && !startsNow ? { signal } : {},
    ) as Promise<T>;
  }

  get stats(): LimiterStats {
    return { started: this.startedCount, waiting: this.queue.size, running: this.queue.pending };
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }
}

/** A fractional rate (0.5/s) becomes one start per 2 s; whole rates keep the caller's interval. */
function window(rate: number, intervalMs: number): { interval: number; intervalCap: number } {
  if (rate >= 1 && Number.isInteger(rate)) return { interval: intervalMs, intervalCap: rate };
  return { interval: Math.ceil(intervalMs / rate), intervalCap: 1 };
}

function check(name: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw new SchemeError([
      {
        file: 'limits',
        pointer: `/${name}`,
        expected: `a finite number >= ${min}`,
        found: String(value),
        hint: `set limits.${name} in the scheme to a positive number`,
      },
    ]);
  }
}
