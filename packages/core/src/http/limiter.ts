import PQueue from 'p-queue';
import type { Limiter as LimiterContract, LimiterAnswer, LimiterStats, Limits } from '../contracts/limits.js';
import { InputError } from '../errors/errors.js';
import { AdaptiveRate, type AdaptiveRateOptions } from './rate-control.js';

/**
 * The configured limits and nothing more: one p-queue per connection, with `concurrency` and,
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

  /** @throws InputError when a limit is not a positive finite number. */
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

/** Options of {@link AdaptiveLimiter}: how it reacts to rate-limit answers (see {@link AdaptiveRateOptions}). */
export interface AdaptiveLimiterOptions extends Partial<Omit<AdaptiveRateOptions, 'ceiling'>> {
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

/**
 * The limiter every connection gets: a {@link QueueLimiter} (the configured limits, which it never
 * exceeds) that adapts to the rate the system really allows. It hears every answer through
 * {@link observe}; on a rate-limit answer it pauses every start, lowers its rate, and climbs back after
 * stretches of clean answers ({@link AdaptiveRate}). Until the system refuses a request it behaves
 * exactly as the QueueLimiter.
 *
 * The learned rate is applied by a second p-queue of concurrency 1 that spaces starts `1000 / rate` ms
 * apart and holds them during a pause: a request leaves the QueueLimiter's window and concurrency slot,
 * then waits its turn there. Its waits are serial, so their sum is wall time: `stats.throttledMs`.
 */
export class AdaptiveLimiter implements LimiterContract {
  readonly limits: Limits & { concurrency: number };
  readonly adaptive = true;
  /** The rate control (its `rate`, `pausedUntil` and counters). */
  readonly control: AdaptiveRate;
  private readonly gate: QueueLimiter;
  private readonly pacer = new PQueue({ concurrency: 1 });
  private readonly now: () => number;
  private started = 0;
  private pacing = 0;
  private throttled = 0;
  private sleepingSince: number | undefined;

  /** @throws InputError when a limit is not a positive finite number. */
  constructor(limits: Limits = {}, options: AdaptiveLimiterOptions = {}) {
    const { now = Date.now, ...rate } = options;
    this.gate = new QueueLimiter(limits);
    this.limits = this.gate.limits;
    this.now = now;
    const { interval, intervalCap } = this.gate.window;
    this.control = new AdaptiveRate({ ...rate, ceiling: interval > 0 ? (intervalCap * 1000) / interval : Number.POSITIVE_INFINITY });
  }

  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.gate.schedule(() => {
      // The usual case, never refused: no pacer, no promise more than the QueueLimiter's.
      if (this.pacing === 0 && this.control.delay(this.now()) === 0) {
        this.start();
        return fn();
      }
      return this.pace(signal).then(fn);
    }, signal);
  }

  observe(answer: LimiterAnswer): void {
    this.control.answered(answer, this.now());
  }

  get stats(): LimiterStats {
    const gate = this.gate.stats;
    const rate = this.control.rate;
    return {
      started: this.started,
      waiting: gate.waiting + this.pacing,
      running: gate.running - this.pacing,
      throttledMs: Math.round(this.throttled + (this.sleepingSince === undefined ? 0 : this.now() - this.sleepingSince)),
      rateLimitedAnswers: this.control.stats.rateLimitedAnswers,
      ratePerSecond: Number.isFinite(rate) ? rate : undefined,
      // present only while it holds requests back, so figures taken at rest compare as before
      ...(this.pacing > 0 ? { throttled: true } : {}),
    };
  }

  onIdle(): Promise<void> {
    return this.gate.onIdle();
  }

  private start(): void {
    this.started++;
    this.control.started(this.now());
  }

  /** Waits, in order, until the rate control lets the next request start. */
  private pace(signal: AbortSignal | undefined): Promise<void> {
    this.pacing++;
    return this.pacer
      .add(
        async () => {
          for (let wait = this.control.delay(this.now()); wait > 0; wait = this.control.delay(this.now())) {
            const since = this.now();
            this.sleepingSince = since;
            try {
              await sleep(wait, signal);
            } finally {
              this.sleepingSince = undefined;
              this.throttled += this.now() - since;
            }
          }
          this.start();
        },
        signal ? { signal } : undefined,
      )
      .finally(() => {
        this.pacing--;
      });
  }
}

/** Builds the default limiter of a connection: an {@link AdaptiveLimiter} with the limits as its ceiling. */
export function createLimiter(limits: Limits = {}, options?: AdaptiveLimiterOptions): LimiterContract {
  return new AdaptiveLimiter(limits, options);
}

/**
 * `new Limiter(limits)` builds the default {@link AdaptiveLimiter}; as a type, `Limiter` is the contract
 * (contracts/limits.ts) any implementation satisfies.
 */
export const Limiter = AdaptiveLimiter;
export type Limiter = LimiterContract;

/** A timer on the global clock (fake timers in tests move it), cleared when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

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
  throw new InputError([
    {
      file: 'limits',
      pointer: `/${name}`,
      expected: `\`${name}\` to be a finite number ${bound}`,
      found: String(value),
      hint: `set limits.${name} of the connection in the scheme to a positive number`,
    },
  ]);
}
