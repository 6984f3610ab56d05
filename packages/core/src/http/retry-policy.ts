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
};

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
 * The time budget covers both.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const started = now();
  let faults = 0;
  let refreshes = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!(error instanceof RetryableError) || error.outcomeUnknown) throw error;
      if (error.tokenExpired && hooks.refreshToken) {
        if (++refreshes >= policy.maxAttempts || now() - started > policy.maxElapsedMs) throw error;
        await hooks.refreshToken(error);
        hooks.onRetry?.(error, attempt, 0);
        continue;
      }
      if (++faults >= policy.maxAttempts) throw error;
      const delay = backoffDelay(faults, policy, error.retryAfterMs, hooks.random);
      if (now() - started + delay > policy.maxElapsedMs) throw error;
      hooks.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
    }
  }
}
