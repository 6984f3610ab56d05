import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { QueueLimiter, rateWindow, RetryableError, type Limiter, type LimiterAnswer, type LimiterStats, type Limits } from '@qiao/core';

/**
 * One permit, atomically, on Redis's clock (every host sees the same time):
 * KEYS[1] the sliding log of starts (sorted set, score = start time in ms),
 * KEYS[2] the shared adaptive state (hash: rate, pausedUntil, changedAt, last, refusals).
 * ARGV: window ms, cap, ceiling (starts/s), climbMs, climbStep (starts/s), member id, spacing ms.
 * Returns {0, 0} when the start is admitted (and logged), else {wait ms, reason} (1: window, 2: adapted).
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local ceiling = tonumber(ARGV[3])
local a = redis.call('HMGET', KEYS[2], 'rate', 'pausedUntil', 'changedAt', 'last')
local rate = tonumber(a[1]) or ceiling
local paused = tonumber(a[2]) or 0
local changed = tonumber(a[3]) or 0
local last = tonumber(a[4]) or 0
if rate < ceiling and now - changed >= tonumber(ARGV[4]) then
  rate = math.min(ceiling, rate + tonumber(ARGV[5]))
  changed = now
  redis.call('HSET', KEYS[2], 'rate', tostring(rate), 'changedAt', tostring(changed))
end
if paused > now then return {paused - now, 2} end
if rate < ceiling then
  local spaced = last + math.ceil(1000 / rate)
  if spaced > now then return {spaced - now, 2} end
end
local even = last + tonumber(ARGV[7])
if even > now then return {even - now, 1} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= cap then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {math.max(1, tonumber(oldest[2]) + window + 1 - now), 1}
end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('HSET', KEYS[2], 'last', tostring(now))
redis.call('PEXPIRE', KEYS[2], 3600000)
return {0, 0}
`;

/**
 * A rate-limit answer: pause every process, and lower the shared rate, once per burst (answers to
 * requests started before the last lowering say nothing new).
 * KEYS[1] adaptive hash. ARGV: startedAt ms, retryAfter ms (0: default pause), ceiling, floor, pause ms.
 */
const REFUSED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local a = redis.call('HMGET', KEYS[2], 'rate', 'changedAt', 'pausedUntil')
local ceiling = tonumber(ARGV[3])
local rate = tonumber(a[1]) or ceiling
local changed = tonumber(a[2]) or 0
local paused = tonumber(a[3]) or 0
local pause = tonumber(ARGV[2])
if pause <= 0 then pause = tonumber(ARGV[5]) end
redis.call('HINCRBY', KEYS[2], 'refusals', 1)
redis.call('HSET', KEYS[2], 'pausedUntil', tostring(math.max(paused, now + pause)))
if tonumber(ARGV[1]) >= changed then
  rate = math.max(tonumber(ARGV[4]), math.min(rate, ceiling) / 2)
  redis.call('HSET', KEYS[2], 'rate', tostring(rate), 'changedAt', tostring(now))
end
redis.call('PEXPIRE', KEYS[2], 3600000)
return tostring(rate)
`;

export interface RedisLimiterOptions {
  /** The connection (shared by the limiters of one process; not closed by the limiter). */
  redis: Redis;
  /** The Redis key of the app's permits, e.g. `qiao:limit:yonbip:<appKey>`. */
  key: string;
  /** Where Redis is, as messages name it (no password). */
  where: string;
  /**
   * Added to the window, so that starts admitted on Redis's clock stay within the limit as the
   * system counts them on arrival (requests travel for different times). @default 100
   */
  guardMs?: number;
  /** Clean time after which a lowered rate climbs by one step (10% of the configured rate). @default 5000 */
  climbMs?: number;
}

/**
 * A connection's limiter whose permits come from Redis, so that every qiao process using one app's
 * key (a YonBIP app key, an OKKI client id) respects the app's rate together: a sliding log of
 * starts in one Lua script, on Redis's clock, never more than the configured cap in any window
 * (plus a small guard), and starts spread evenly over the window (window / cap apart), so that the
 * system, which counts arrivals, never sees a burst bunched up by the way there. Concurrency stays per process. A rate-limit answer pauses every process
 * sharing the key and halves the shared rate, which climbs back by a tenth of the configured rate
 * every `climbMs` without a refusal.
 *
 * When Redis cannot be reached a request fails with a RetryableError naming Redis (nothing was
 * sent), so the run stops with its records still queued.
 */
export class RedisLimiter implements Limiter {
  readonly limits: Limits & { concurrency: number };
  readonly adaptive = true;
  /** Concurrency only (the rate is Redis's). */
  private readonly queue: QueueLimiter;
  private readonly window: number;
  private readonly cap: number;
  /** Starts are spread evenly over the window (a burst's requests arrive bunched up). */
  private readonly spacing: number;
  private readonly ceiling: number;
  private readonly keys: [string, string];
  private started = 0;
  private refused = 0;
  private throttled = 0;
  private sequence = 0;
  private learned: number | undefined;

  constructor(
    limits: Limits,
    private readonly o: RedisLimiterOptions,
  ) {
    const concurrency = limits.concurrency ?? 4;
    this.limits = { ...limits, concurrency };
    const w = rateWindow(limits);
    this.window = w.interval > 0 ? w.interval + (o.guardMs ?? 100) : 0;
    this.cap = w.intervalCap;
    this.spacing = this.window > 0 ? Math.floor(this.window / this.cap) : 0;
    this.ceiling = w.interval > 0 ? (w.intervalCap * 1000) / w.interval : Number.POSITIVE_INFINITY;
    this.keys = [o.key, `${o.key}:adaptive`];
    this.queue = new QueueLimiter({ concurrency });
  }

  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.schedule(async () => {
      if (this.window > 0) await this.permit(signal);
      this.started++;
      return fn();
    }, signal);
  }

  observe(answer: LimiterAnswer): void {
    if (!answer.rateLimited || this.window === 0) return;
    this.refused++;
    const floor = Math.min(this.ceiling, 0.1);
    this.o.redis
      .eval(REFUSED, 2, ...this.keys, String(answer.startedAt ?? Date.now()), String(answer.retryAfterMs ?? 0), String(this.ceiling), String(floor), '1000')
      .then((r) => (this.learned = Number(r)))
      .catch(() => undefined);
  }

  get stats(): LimiterStats {
    return {
      started: this.started,
      waiting: this.queue.stats.waiting,
      running: this.queue.stats.running,
      throttledMs: Math.round(this.throttled),
      rateLimitedAnswers: this.refused,
      ratePerSecond: this.learned ?? (Number.isFinite(this.ceiling) ? this.ceiling : undefined),
    };
  }

  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }

  /** Waits until Redis admits one start. */
  private async permit(signal: AbortSignal | undefined): Promise<void> {
    const member = `${process.pid}:${++this.sequence}:${Math.random().toString(36).slice(2, 8)}`;
    for (;;) {
      signal?.throwIfAborted();
      let answer: [number, number];
      try {
        answer = (await this.o.redis.eval(ACQUIRE, 2, ...this.keys, String(this.window), String(this.cap), String(this.ceiling), String(this.o.climbMs ?? 5000), String(this.ceiling / 10), member, String(this.spacing))) as [number, number];
      } catch (e) {
        throw redisDown(this.o.where, e);
      }
      const [wait, reason] = answer;
      if (wait <= 0) return;
      const since = Date.now();
      await sleep(Math.min(wait, 1000), undefined, signal ? { signal } : undefined);
      if (reason === 2) this.throttled += Date.now() - since;
    }
  }
}

/** The error of a request or job that could not reach Redis: names it and says what to do. */
export function redisDown(where: string, cause: unknown, outcomeUnknown = false): RetryableError {
  const detail = ((cause as Error)?.message ?? String(cause)).replace(/\s+/g, ' ').trim();
  return new RetryableError(`Redis at ${where} cannot be reached (${detail}): the shared rate limit and the write queues of the qiao workers live there`, {
    system: 'redis',
    reason: 'redis.unavailable',
    cause,
    outcomeUnknown,
    hint: `start Redis at ${where} (or point --redis / QIAO_REDIS_URL at a running one); the records stay queued in the state store and the next run delivers them`,
  });
}
