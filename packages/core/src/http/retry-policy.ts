import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from '../contracts/limits.js';
import { RetryableError } from '../errors/errors.js';

export type { RetryPolicy } from '../contracts/limits.js';

/** The retry policy of a connection unless the scheme says otherwise. */
export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  maxElapsedMs: 120_000,
  maxThrottleMs: 600_000,
};

/** {@link RetryPolicy.maxThrottleMs} when a policy leaves it out. */
export const DEFAULT_MAX_THROTTLE_MS = 600_000;

const rateLimitedErrors = new WeakSet<RetryableError>();

/** Marks an error as a refusal for the rate limit (HttpClient does, for 429 and `rateLimited` answers). */
export function markRateLimited<E extends RetryableError>(error: E): E {
  rateLimitedErrors.add(error);
  return error;
}

/** Whether the error is a refusal for the rate limit: retried without spending the retry budget. */
export function isRateLimited(error: unknown): boolean {
  return error instanceof RetryableError && rateLimitedErrors.has(error);
}

/**
 * Exponential backoff with full jitter (a random delay between half and all of the exponential step),
 * never shorter than what the server asked for with Retry-After.
 * @param attempt the attempt that just failed, 1-based
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = step / 2 + random() * (step / 2);
  return Math.max(Math.round(jittered), Math.min(retryAfterMs ?? 0, policy.maxElapsedMs));
}

/** Parses an HTTP Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface RetryHooks {
  signal?: AbortSignal | undefined;
  /**
   * How long to wait before repeating a request refused for the rate limit (the n-th such refusal).
   * HttpClient answers 0 when the limiter is adaptive: the limiter holds the request itself.
   * @default the back-off of faults, never less than Retry-After
   */
  throttleDelay?: (error: RetryableError, refusals: number) => number;
  /** Called before each retry, with the error and the delay about to be waited. */
  onRetry?: (error: RetryableError, attempt: number, delayMs: number) => void;
  /** Called when the error says the token expired; the retry follows at once, without a delay. */
  refreshToken?: (error: RetryableError) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/**
 * Runs `fn` until it succeeds, throws something other than a {@link RetryableError}, or the policy's
 * attempts or time run out (then the last RetryableError is thrown). Token-expired errors refresh the
 * token and repeat at once; they have a budget of their own (`maxAttempts` refreshes), so tokens that
 * expire often (a short lifetime, many requests in flight) do not use up the retries that faults need.
 * The time budget covers both. Refusals for the rate limit ({@link isRateLimited}) spend neither: they
 * are repeated until `maxThrottleMs` has passed since the first of them, and the time from a refusal
 * to the next answer does not count in `maxElapsedMs`.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const started = now();
  const maxThrottleMs = policy.maxThrottleMs ?? DEFAULT_MAX_THROTTLE_MS;
  let faults = 0;
  let refreshes = 0;
  let refusals = 0;
  let firstRefusal: number | undefined;
  /** Time spent between a refusal and the answer after it, left out of `maxElapsedMs`. */
  let throttled = 0;
  let refusedAt: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!(error instanceof RetryableError) || error.outcomeUnknown) throw error;
      const t = now();
      if (refusedAt !== undefined) {
        throttled += t - refusedAt;
        refusedAt = undefined;
      }
      if (isRateLimited(error)) {
        firstRefusal ??= t;
        refusals++;
        const delay = hooks.throttleDelay?.(error, refusals) ?? backoffDelay(refusals, policy, error.retryAfterMs, hooks.random);
        if (t - firstRefusal + delay > maxThrottleMs) throw error;
        refusedAt = t;
        hooks.onRetry?.(error, attempt, delay);
        if (delay > 0) await sleep(delay, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
        else if (hooks.signal?.aborted) throw hooks.signal.reason;
        continue;
      }
      const elapsed = t - started - throttled;
      if (error.tokenExpired && hooks.refreshToken) {
        if (++refreshes >= policy.maxAttempts || elapsed > policy.maxElapsedMs) throw error;
        await hooks.refreshToken(error);
        hooks.onRetry?.(error, attempt, 0);
        continue;
      }
      if (++faults >= policy.maxAttempts) throw error;
      const delay = backoffDelay(faults, policy, error.retryAfterMs, hooks.random);
      if (elapsed + delay > policy.maxElapsedMs) throw error;
      hooks.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
    }
  }
}
