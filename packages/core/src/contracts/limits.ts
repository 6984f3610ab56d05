/**
 * Limits of one connection, as a scheme or a manifest states them. Every request of the connection
 * passes through one {@link Limiter} built from them.
 *
 * @example
 * ```yaml
 * limits: { requestsPerMinute: 60, concurrency: 4 }   # YonBIP's published quota for some APIs
 * ```
 */
export interface Limits {
  /**
   * Requests started per second, as a strict sliding window: no second, wherever it starts, holds
   * more. A fractional rate (0.5) means one start every 1/rate seconds.
   */
  requestsPerSecond?: number;
  /**
   * Requests started per minute (strict sliding window of 60 s). When both rates are given, the one
   * that allows fewer requests in the long run applies (a manifest's default `requestsPerSecond: 10`
   * and a scheme's `requestsPerMinute: 60` give 60 a minute).
   */
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

/** What a system answered to one request, as far as its rate limit is concerned. */
export interface LimiterAnswer {
  /** The system refused the request for exceeding its rate limit (HTTP 429, YonBIP 310039…). */
  rateLimited: boolean;
  /** How long the system asked to wait (Retry-After), when it said. */
  retryAfterMs?: number | undefined;
}

/**
 * A connection's rate and concurrency limiter. Every request of the connection runs through
 * {@link Limiter.schedule}; `HttpClient` tells it about each answer through {@link Limiter.observe},
 * so an adaptive implementation (pause on a rate-limit answer, lower the rate, climb back) can replace
 * the default one without touching the HTTP code.
 */
export interface Limiter {
  /** The limits it enforces, `concurrency` resolved. */
  readonly limits: Limits & { concurrency: number };
  /**
   * Runs `fn` when a slot is free within the limits, and settles as it does. A request still waiting
   * for a slot leaves the queue when `signal` aborts (rejecting with the signal's reason); once `fn`
   * runs, it honours the signal itself.
   */
  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly stats: LimiterStats;
  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void>;
  /** Hears how the system answered a request that ran through {@link schedule}. Optional. */
  observe?(answer: LimiterAnswer): void;
}

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 6 */
  maxAttempts: number;
  /** Delay before the first retry, doubled each time. @default 250 */
  baseDelayMs: number;
  /** Longest single delay. @default 15000 */
  maxDelayMs: number;
  /** Give up once this much time has passed since the first attempt. @default 120000 */
  maxElapsedMs: number;
}
