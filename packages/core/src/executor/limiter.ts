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

interface Waiter {
  fn: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Left the queue (its signal aborted); skipped when its turn comes. */
  gone: boolean;
}

/**
 * A per-connection rate and concurrency limiter. The rate is a strict sliding window: no window of one
 * interval ever holds more than the configured number of starts, whichever way the system counts its
 * own windows. Requests start in the order they were scheduled.
 *
 * qiao's own rather than p-queue (which it was until 2026-11-29): every request of a run passes through
 * it, and p-queue's per-task machinery (events, options, id, timeout race) cost a run of 6,000 requests
 * more CPU than the rest of the HTTP layer (bench/vs-handwritten.mjs); this does the same in a counter,
 * a FIFO and the list of recent start times.
 */
export class Limiter {
  readonly limits: Required<Pick<Limits, 'concurrency'>> & Limits;
  private readonly concurrency: number;
  /** Length of the sliding window in ms, 0 without a rate. */
  private readonly interval: number;
  /** Starts allowed within one window. */
  private readonly intervalCap: number;
  /** Start times (Date.now) of the current window, oldest first from `startsHead`. */
  private starts: number[] = [];
  private startsHead = 0;
  private readonly queue: Waiter[] = [];
  private queueHead = 0;
  private running = 0;
  private startedCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: Array<() => void> = [];
  private readonly release = (): void => {
    this.running--;
    if (this.queueHead < this.queue.length) this.next();
    else if (this.running === 0) this.settleIdle();
  };

  constructor(limits: Limits = {}) {
    const concurrency = limits.concurrency ?? 4;
    check('concurrency', concurrency, 1);
    if (limits.requestsPerSecond !== undefined) check('requestsPerSecond', limits.requestsPerSecond, 0.001);
    if (limits.requestsPerMinute !== undefined) check('requestsPerMinute', limits.requestsPerMinute, 0.001);
    this.limits = { ...limits, concurrency };
    this.concurrency = concurrency;
    let interval = 0;
    let intervalCap = Number.POSITIVE_INFINITY;
    if (limits.requestsPerSecond) {
      ({ interval, intervalCap } = window(limits.requestsPerSecond, 1000));
    } else if (limits.requestsPerMinute) {
      ({ interval, intervalCap } = window(limits.requestsPerMinute, 60_000));
    }
    this.interval = interval;
    this.intervalCap = intervalCap;
  }

  /**
   * Runs `fn` when a slot is free within the limits, and settles as it does. A request still waiting
   * for a slot leaves the queue when `signal` aborts (rejecting with the signal's reason); once `fn`
   * runs, it honours the signal itself.
   */
  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.queueHead === this.queue.length && this.running < this.concurrency) {
      const now = this.interval > 0 ? Date.now() : 0;
      if (this.windowWait(now) === 0) return this.start(fn, now);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { fn, resolve: resolve as (value: unknown) => void, reject, signal, onAbort: undefined, gone: false };
      if (signal) {
        waiter.onAbort = () => {
          waiter.gone = true;
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.next();
    });
  }

  get stats(): LimiterStats {
    let waiting = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) if (!this.queue[i]!.gone) waiting++;
    return { started: this.startedCount, waiting, running: this.running };
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    if (this.running === 0 && this.queueHead === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private start<T>(fn: () => Promise<T>, now: number): Promise<T> {
    this.running++;
    this.startedCount++;
    if (this.interval > 0) this.starts.push(now);
    let p: Promise<T>;
    try {
      p = fn();
    } catch (error) {
      p = Promise.reject(error);
    }
    p.then(this.release, this.release);
    return p;
  }

  /** Starts waiting requests while there are slots; sets a timer when the rate holds them back. */
  private next(): void {
    while (this.queueHead < this.queue.length && this.running < this.concurrency) {
      const waiter = this.queue[this.queueHead]!;
      if (waiter.gone) {
        this.dequeue();
        continue;
      }
      const now = this.interval > 0 ? Date.now() : 0;
      const wait = this.windowWait(now);
      if (wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.next();
        }, wait);
        return;
      }
      this.dequeue();
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      this.start(waiter.fn, now).then(waiter.resolve, waiter.reject);
    }
    if (this.running === 0 && this.queueHead === this.queue.length) this.settleIdle();
  }

  private dequeue(): void {
    this.queue[this.queueHead++] = undefined as unknown as Waiter;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Milliseconds until the window has room for one more start (0: now). Forgets starts out of the window. */
  private windowWait(now: number): number {
    if (this.interval === 0) return 0;
    const starts = this.starts;
    const from = now - this.interval;
    let head = this.startsHead;
    while (head < starts.length && starts[head]! <= from) head++;
    if (head === starts.length) {
      starts.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > starts.length) {
      starts.splice(0, head);
      head = 0;
    }
    this.startsHead = head;
    if (starts.length - head < this.intervalCap) return 0;
    return Math.max(1, starts[head]! - from);
  }

  private settleIdle(): void {
    if (this.idle.length === 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
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
