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
  /**
   * Milliseconds of wall time during which the limiter held requests back because the system refused
   * some for its rate limit: its pauses, and the spacing of starts at the rate it learned while that
   * is below the configured one. Requests waited no longer for the rate limit than this (they share
   * these waits: four requests held for one second count one second). 0 for a limiter that does not
   * adapt.
   */
  throttledMs?: number;
  /** Answers that refused a request for the rate limit (HTTP 429, YonBIP 310039…) so far. */
  rateLimitedAnswers?: number;
  /** True while requests are held back for the system's rate limit (paused, or spaced at a learned rate); absent otherwise. */
  throttled?: boolean;
  /**
   * Starts per second it allows now: the configured rate until the system refuses a request, then the
   * rate it learned. Absent while no rate is configured or learned.
   */
  ratePerSecond?: number | undefined;
}

/** What a system answered to one request, as far as its rate limit is concerned. */
export interface LimiterAnswer {
  /** The system refused the request for exceeding its rate limit (HTTP 429, YonBIP 310039…). */
  rateLimited: boolean;
  /** How long the system asked to wait (Retry-After), when it said. */
  retryAfterMs?: number | undefined;
  /**
   * When the request started (ms since the epoch). Tells answers to requests sent before the limiter
   * slowed down, which say nothing new, from answers to requests sent after. @default the time it hears the answer
   */
  startedAt?: number | undefined;
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
  /**
   * True when the limiter itself holds requests back after a rate-limit answer it observed (it pauses
   * and lowers its rate): a rate-limited request is then retried at once, and waits in the limiter.
   * Otherwise the retry waits a back-off of its own first. @default false
   */
  readonly adaptive?: boolean;
}

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 6 */
  maxAttempts: number;
  /** Delay before the first retry, doubled each time. @default 250 */
  baseDelayMs: number;
  /** Longest single delay. @default 15000 */
  maxDelayMs: number;
  /**
   * Give up once this much time has passed since the first attempt (time spent refused for the rate
   * limit does not count). @default 120000
   */
  maxElapsedMs: number;
  /**
   * How long one request may keep being refused for the rate limit (HTTP 429, YonBIP 310039…), from
   * its first such answer, before it gives up. Rate-limit answers spend neither `maxAttempts` nor
   * `maxElapsedMs`: a quota slows a run down, it does not end it. The default outlasts any per-minute
   * window by far; a request refused that long meets a quota that is not coming back soon (a daily
   * quota spent, other apps of the tenant using it up), and the run stops with its records still
   * queued for the next run. `Infinity`: only the run's signal stops it.
   * @default 600000
   */
  maxThrottleMs?: number;
}
