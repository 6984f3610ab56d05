import type { LimiterAnswer } from '../contracts/limits.js';

/** How an {@link AdaptiveRate} reacts to rate-limit answers. Every field has a default. */
export interface AdaptiveRateOptions {
  /**
   * Starts per second it never exceeds: the configured limit. `Infinity` when none is configured (then
   * the first rate-limit answer sets the rate from the starts it measured).
   */
  ceiling: number;
  /** The lowest rate it falls to, in starts per second. @default 1/60 (one a minute) */
  floor?: number;
  /**
   * Multiplicative decrease: the rate is multiplied by this when the first request sent after a pause
   * is refused too (answers to requests sent before the pause say nothing new), or set to the rate the
   * system let through lately when that is less than half.
   * @default 0.9
   */
  decrease?: number;
  /**
   * Additive increase, as a share of the rate the last decrease set: the rate climbs by this much
   * after each stretch of clean answers.
   * @default 0.05
   */
  increase?: number;
  /** Clean answers in a stretch (at least one per start at the current rate over `stretchMs`). @default 4 */
  stretchAnswers?: number;
  /**
   * Clean answers in a stretch at most. A stretch is as many clean answers as got through before the
   * first refusal (about what the system's window holds), between `stretchAnswers` and this.
   * @default 100
   */
  maxStretchAnswers?: number;
  /** Shortest stretch of clean answers between two increases, in ms. @default 1000 */
  stretchMs?: number;
  /**
   * First pause after a rate-limit answer at most, in ms (it is two starts' worth at the rate reached
   * when that is shorter); it doubles with each further refusal until a clean answer comes, up to
   * `maxPauseMs`. A Retry-After longer than the pause wins.
   * @default 250
   */
  pauseMs?: number;
  /**
   * Longest pause. Short enough not to sleep long past the opening of a per-minute window (the
   * answers refused while probing for it are cheap: nothing is applied).
   * @default 10000
   */
  maxPauseMs?: number;
}

const DEFAULTS = {
  floor: 1 / 60,
  decrease: 0.9,
  increase: 0.05,
  stretchAnswers: 4,
  maxStretchAnswers: 100,
  stretchMs: 1000,
  pauseMs: 250,
  maxPauseMs: 10_000,
};

/** What an {@link AdaptiveRate} has seen and done so far. */
export interface AdaptiveRateStats {
  /** Rate-limit answers heard. */
  rateLimitedAnswers: number;
  /** Times it lowered its rate. */
  decreases: number;
  /** Times it raised it again. */
  increases: number;
}

/**
 * The rate control of the adaptive limiter, with the clock passed in (no timers, no I/O): AIMD as TCP
 * does it, for quotas whose window nobody documents (YonBIP answers 310039 on HTTP 200, with no
 * Retry-After and no word on whether it counts per second or per minute).
 *
 * - A rate-limit answer to a request started after the last one acted upon pauses every start: two
 *   starts' worth at the rate reached (at most `pauseMs`), doubled while refusals keep coming with no
 *   clean answer between (up to `maxPauseMs`), or Retry-After when longer.
 * - When the first request after such a pause is refused too, the rate is too high: it is multiplied
 *   by `decrease` (of the rate measured, when that is lower than the nominal one), or set at once to
 *   what the system let through lately when that is less than half of it (a per-minute quota).
 * - After each stretch of clean answers (as many as got through before the first refusal, about one
 *   window's worth, and `stretchMs` at least) the rate climbs by `increase` × the rate the decrease
 *   set; a refusal starts the stretch again. It never exceeds `ceiling`; at the ceiling it is
 *   `adapted: false` and adds no spacing of its own.
 */
export class AdaptiveRate {
  readonly options: Required<AdaptiveRateOptions>;
  /** Starts per second now (`Infinity`: no rate of its own yet). */
  rate: number;
  /** No start before this time (ms). */
  pausedUntil = 0;
  readonly stats: AdaptiveRateStats = { rateLimitedAnswers: 0, decreases: 0, increases: 0 };
  /** What each increase adds: `increase` × the rate set by the last decrease. */
  private step = 0;
  private lastRefusalAt = Number.NEGATIVE_INFINITY;
  private lastChangeAt = Number.NEGATIVE_INFINITY;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  private clean = 0;
  private stretchAnswers: number;
  private accepted = 0;
  private firstRefusalAt: number | undefined;
  /** When the last answers let through came (up to 2 × maxStretchAnswers). */
  private readonly acceptedAt: number[] = [];
  /** Rate-limit answers in a row (decreases without a clean answer between). */
  private refusedInARow = 0;
  /** The last starts, to measure the rate actually reached. */
  private readonly recent: number[] = [];

  constructor(options: AdaptiveRateOptions) {
    this.options = { ...DEFAULTS, ...options };
    this.rate = this.options.ceiling;
    this.stretchAnswers = this.options.stretchAnswers;
  }

  /** Whether it holds starts below the ceiling (spacing them `1000 / rate` ms apart). */
  get adapted(): boolean {
    return this.rate < this.options.ceiling;
  }

  /** Milliseconds the next start must wait (0: it may start now). */
  delay(now: number): number {
    const spaced = this.adapted ? this.lastStartAt + 1000 / this.rate : 0;
    return Math.max(0, this.pausedUntil - now, spaced - now);
  }

  /** A request starts now. */
  started(now: number): void {
    this.lastStartAt = now;
    this.recent.push(now);
    if (this.recent.length > 16) this.recent.shift();
  }

  /** How the system answered a request that started at `answer.startedAt` (now, if not said). */
  answered(answer: LimiterAnswer, now: number): void {
    const startedAt = answer.startedAt ?? now;
    if (answer.rateLimited) {
      this.stats.rateLimitedAnswers++;
      if (this.firstRefusalAt === undefined) {
        this.firstRefusalAt = now;
        // What got through before the first refusal is about what one window holds: a stretch of as
        // many clean answers lets the window refuse before the rate climbs again.
        this.stretchAnswers = Math.min(this.options.maxStretchAnswers, Math.max(this.options.stretchAnswers, this.accepted));
      }
      if (answer.retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + answer.retryAfterMs);
      // Sent before the last refusal acted upon: about the same moment, already acted upon.
      if (startedAt < this.lastRefusalAt) return;
      this.lastRefusalAt = now;
      this.refusedInARow++;
      const base = Math.min(this.rate, this.measuredRate());
      // The first pause is two starts' worth at the rate reached (at most `pauseMs`): a refusal that
      // comes alone (a busy platform, not a full window) costs a fast connection next to nothing.
      const first = Math.max(1, Math.min(this.options.pauseMs, 2000 / base));
      const pause = Math.min(this.options.maxPauseMs, first * 2 ** (this.refusedInARow - 1));
      this.pausedUntil = Math.max(this.pausedUntil, now + pause);
      // Only a refusal of the first request sent after a pause says the rate is too high. A refusal
      // that comes alone holds the climb back (the stretch starts again) but keeps the rate: lowering
      // for each would wear the rate down to nothing when a busy platform refuses now and then,
      // whatever the rate. Further refusals while the window is still full lengthen the pause only.
      if (this.refusedInARow !== 2) {
        this.clean = 0;
        return;
      }
      const { decrease, floor, ceiling, increase } = this.options;
      // Far above (twice) what the system let through lately: go down to that at once, instead of one
      // decrease per refusal, which takes a whole window each time.
      const allowed = this.allowedRate(now);
      const next = allowed < base / 2 ? allowed : base * decrease;
      this.rate = Math.min(ceiling, Math.max(floor, next));
      this.step = increase * this.rate;
      this.lastChangeAt = now;
      this.clean = 0;
      this.stats.decreases++;
      return;
    }
    this.accepted++;
    this.acceptedAt.push(now);
    if (this.acceptedAt.length > 2 * this.options.maxStretchAnswers) this.acceptedAt.shift();
    if (startedAt < this.lastRefusalAt) return;
    this.refusedInARow = 0;
    if (!this.adapted) return;
    this.clean++;
    // A stretch: long enough in time, and with enough answers that the window had a chance to refuse.
    if (this.clean < this.stretchAnswers || now - this.lastChangeAt < this.options.stretchMs) return;
    this.rate = Math.min(this.options.ceiling, this.rate + this.step);
    this.lastChangeAt = now;
    this.clean = 0;
    this.stats.increases++;
  }

  /**
   * Answers let through per second over the last two stretches' worth of them (about two of the
   * system's windows when it keeps refusing): what it allows. Infinity with too few to tell.
   */
  private allowedRate(now: number): number {
    const n = Math.min(this.acceptedAt.length, 2 * this.stretchAnswers);
    const oldest = this.acceptedAt[this.acceptedAt.length - n];
    if (n < 2 || oldest === undefined || now - oldest < this.options.stretchMs) return Number.POSITIVE_INFINITY;
    return (n * 1000) / (now - oldest);
  }

  /** Starts per second over the last starts (Infinity with fewer than two). */
  private measuredRate(): number {
    const n = this.recent.length;
    if (n < 2) return Number.POSITIVE_INFINITY;
    const span = (this.recent[n - 1] as number) - (this.recent[0] as number);
    return span > 0 ? ((n - 1) * 1000) / span : Number.POSITIVE_INFINITY;
  }
}
