import { randomUUID } from 'node:crypto';
import type { ErrorGroup, RunReport } from '../contracts/state-store.js';
import type { WriteOutcome } from '../contracts/target.js';
import { isQiaoError } from '../errors/errors.js';

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

  constructor(
    scheme: string,
    runId: string,
    private readonly options: { hintFor?: HintFor | undefined; onProgress?: ((p: Progress) => void) | undefined } = {},
  ) {
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
    });
  }

  /**
   * Closes the report: failed with the fatal error that stopped the run, cancelled when the user stopped
   * it (Ctrl-C, SIGTERM, `qiao serve` shutting down), partial with dead letters, else succeeded.
   */
  finish(fatal: unknown, stopped: boolean): RunReport {
    const r = this.report;
    this.phase = 'done';
    const finished = Date.now();
    r.finishedAt = new Date(finished).toISOString();
    r.durationMs = finished - this.started;
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
