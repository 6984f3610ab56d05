import { randomUUID } from 'node:crypto';
import type { Limiter } from '../contracts/limits.js';
import type { ConnectionThrottle, ErrorGroup, RunReport } from '../contracts/state-store.js';
import type { WriteOutcome } from '../contracts/target.js';
import { isQiaoError } from '../errors/errors.js';
import { rateWindow } from '../http/limiter.js';

export interface Progress {
  phase: 'resume' | 'read' | 'write' | 'done';
  read: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  /** Items enqueued and not yet written. */
  queued: number;
  /** Records the source said it will yield, when known. */
  total?: number | undefined;
  /** Records finished (written, skipped or failed) per second so far. */
  ratePerSecond: number;
  etaMs?: number | undefined;
  elapsedMs: number;
  /**
   * Each connection's rate limiting so far: time spent throttled (ms, share of the run), rate-limit
   * answers, the rate allowed now, and whether requests are held back right now. Absent when the run
   * was not given its connections' limiters.
   */
  throttling?: ConnectionThrottle[] | undefined;
}

/** A connection of the run whose limiter the report and progress read (see {@link ConnectionThrottle}). */
export interface RunConnection {
  side: ConnectionThrottle['side'];
  connector: string;
  limiter: Limiter;
}

/** Diagnosis of an error reason, shown as the report's hint. */
export type HintFor = (reason: string, message: string) => string | undefined;

/** Errors (or skips) grouped by their code, each with the first message and a hint. */
export class ErrorGroups {
  private readonly groups = new Map<string, ErrorGroup>();

  constructor(private readonly hintFor?: HintFor) {}

  add(code: string, message: string, hint?: string): void {
    const g = this.groups.get(code);
    if (g) g.count++;
    else this.groups.set(code, { code, message, count: 1, hint: this.hintFor?.(code, message) ?? hint });
  }

  /** Largest group first. */
  list(): ErrorGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count);
  }
}

/** Progress events are sent at most this often, except the last. */
const PROGRESS_EVERY_MS = 200;
/**
 * While a run goes on, a progress event at least this often: a connection paused for its rate limit
 * (a per-minute quota) writes nothing for a while, and progress still says so.
 */
const PROGRESS_HEARTBEAT_MS = 1000;

/**
 * The report stage: the counts every other stage adds to, the grouped errors and skips, the progress
 * events, and at the end the run's status.
 */
export class RunTally {
  readonly report: RunReport;
  readonly errors: ErrorGroups;
  readonly skips: ErrorGroups;
  readonly warnings: ErrorGroups;
  phase: Progress['phase'] = 'resume';
  /** Records the source said it will yield. */
  total: number | undefined;
  /** Items enqueued and not yet written; set by whoever knows (the queue flow). */
  queued: () => number = () => 0;
  private readonly started = Date.now();
  private lastProgress = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Each connection's limiter figures when the run started (a limiter may outlive one run). */
  private readonly baselines: Array<{ throttledMs: number; rateLimitedAnswers: number }>;

  constructor(
    scheme: string,
    runId: string,
    private readonly options: {
      hintFor?: HintFor | undefined;
      onProgress?: ((p: Progress) => void) | undefined;
      /** The run's connections, whose throttling the report and progress carry. */
      connections?: readonly RunConnection[] | undefined;
    } = {},
  ) {
    this.baselines = (options.connections ?? []).map(({ limiter }) => ({ throttledMs: limiter.stats.throttledMs ?? 0, rateLimitedAnswers: limiter.stats.rateLimitedAnswers ?? 0 }));
    this.errors = new ErrorGroups(options.hintFor);
    this.skips = new ErrorGroups(options.hintFor);
    this.warnings = new ErrorGroups(options.hintFor);
    this.report = {
      scheme,
      runId,
      status: 'running',
      counts: { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 },
      startedAt: new Date(this.started).toISOString(),
      finishedAt: null,
      durationMs: 0,
      errors: [],
      skips: [],
      resumed: 0,
    };
  }

  get counts(): RunReport['counts'] {
    return this.report.counts;
  }

  /** A record that became (or stays) a dead letter. */
  dead(code: string, message: string, hint?: string): void {
    this.counts.failed++;
    this.errors.add(code, message, hint);
  }

  /** A record the source skipped, with its reason. */
  skipped(reason: string, message: string): void {
    this.counts.skipped++;
    this.skips.add(reason, message);
  }

  /** A record the target took (or found unchanged). */
  written(outcome: WriteOutcome): void {
    if (outcome === 'inserted') this.counts.inserted++;
    else if (outcome === 'updated') this.counts.updated++;
    else this.counts.skipped++;
  }

  /**
   * Each connection's rate limiting during this run so far (undefined without connections): time held
   * back, as ms and as a share of the run, rate-limit answers, rates, and whether it is held back now.
   */
  throttling(now = Date.now()): ConnectionThrottle[] | undefined {
    const connections = this.options.connections;
    if (!connections?.length) return undefined;
    const elapsed = Math.max(1, now - this.started);
    return connections.map(({ side, connector, limiter }, i) => {
      const s = limiter.stats;
      const base = this.baselines[i] ?? { throttledMs: 0, rateLimitedAnswers: 0 };
      const throttledMs = Math.min(elapsed, Math.max(0, (s.throttledMs ?? 0) - base.throttledMs));
      const { interval, intervalCap } = rateWindow(limiter.limits);
      return {
        side,
        connector,
        throttledMs,
        share: Math.round((throttledMs / elapsed) * 1000) / 1000,
        rateLimitedAnswers: Math.max(0, (s.rateLimitedAnswers ?? 0) - base.rateLimitedAnswers),
        ratePerSecond: s.ratePerSecond,
        limitPerSecond: interval > 0 ? (intervalCap * 1000) / interval : undefined,
        throttled: s.throttled ?? false,
      };
    });
  }

  /** Sends progress events at least every second until {@link finish}, also while nothing is written. */
  startHeartbeat(): void {
    if (!this.options.onProgress || this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastProgress >= PROGRESS_HEARTBEAT_MS) this.progress(true);
    }, PROGRESS_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Sends a progress event, at most every 200 ms unless forced. */
  progress(force = false): void {
    if (!this.options.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    const c = this.counts;
    const finished = c.inserted + c.updated + c.skipped + c.failed;
    const elapsedMs = now - this.started;
    const rate = elapsedMs > 0 ? (finished * 1000) / elapsedMs : 0;
    const total = this.total;
    this.options.onProgress({
      phase: this.phase,
      ...c,
      queued: this.queued(),
      total,
      ratePerSecond: rate,
      etaMs: total !== undefined && rate > 0 ? Math.max(0, ((total - finished) / rate) * 1000) : undefined,
      elapsedMs,
      throttling: this.throttling(now),
    });
  }

  /**
   * Closes the report: failed with the fatal error that stopped the run, cancelled when the user stopped
   * it (Ctrl-C, SIGTERM, `qiao serve` shutting down), partial with dead letters, else succeeded.
   */
  finish(fatal: unknown, stopped: boolean): RunReport {
    const r = this.report;
    this.phase = 'done';
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const finished = Date.now();
    r.finishedAt = new Date(finished).toISOString();
    r.durationMs = finished - this.started;
    const throttling = this.throttling(finished);
    if (throttling) r.throttling = throttling;
    r.errors = this.errors.list();
    r.skips = this.skips.list();
    const warnings = this.warnings.list();
    if (warnings.length) r.warnings = warnings;
    if (fatal !== undefined) {
      const e = fatal as Error;
      const q = isQiaoError(e) ? e : undefined;
      r.fatal = { code: q?.reason ?? q?.code ?? 'internal', message: e.message, hint: q?.hint };
      r.status = 'failed';
    } else if (stopped) {
      // cancelled, not failed: nothing went wrong, and what was read and not written stays queued
      r.status = 'cancelled';
    } else {
      r.status = r.counts.failed > 0 ? 'partial' : 'succeeded';
    }
    return r;
  }
}

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${t}-${randomUUID().slice(0, 8)}`;
}
