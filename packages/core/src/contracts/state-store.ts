import type { InjectionToken } from 'tsyringe';
import type { TargetPayload, WriteOutcome } from './target.js';

export type QueueStatus = 'pending' | 'in-flight' | 'done' | 'dead';

/** One item of the write queue (写入队列): a mapped payload waiting to be written, or its outcome. */
export interface QueueItem {
  id: number;
  key: string;
  /** The mapped payload; `null` for a record that failed before it was mapped. */
  payload: TargetPayload | null;
  /** The source record, kept only for records that failed to map (so a retry can map them again). */
  source: Record<string, unknown> | null;
  fingerprint: string;
  cursor: string | null;
  status: QueueStatus;
  attempts: number;
  /** Set when an earlier attempt may have reached the target (it was in flight when the process died). */
  maybeWritten: boolean;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  /** The target id this key was last delivered under (id map), filled in by `claim`. */
  knownId?: string | null;
  runId: string;
  createdAt: string;
  updatedAt: string;
}

export interface EnqueueItem {
  key: string;
  payload: TargetPayload | null;
  source?: Record<string, unknown> | null;
  fingerprint: string;
  cursor?: string | undefined;
  /** Enqueue straight into dead letters (mapping or schema failure). */
  dead?: { code: string; message: string };
}

export interface Delivered {
  key: string;
  fingerprint: string;
  targetId: string | null;
}

export interface Completion {
  id: number;
  key: string;
  fingerprint: string;
  outcome: WriteOutcome;
  targetId?: string | undefined;
}

export interface Failure {
  id: number;
  code: string;
  message: string;
  /** true: a dead letter; false: back to pending for a later attempt or run. */
  dead: boolean;
  /** The attempt may have reached the target. */
  maybeWritten?: boolean;
}

export interface RunCounts {
  read: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
}

export interface ErrorGroup {
  code: string;
  message: string;
  count: number;
  hint?: string | undefined;
}

/** The run report: printed by `qiao run --json`, kept in run history. */
export interface RunReport {
  scheme: string;
  runId: string;
  status: 'succeeded' | 'partial' | 'failed' | 'running';
  counts: RunCounts;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number;
  errors: ErrorGroup[];
  /** Records the source had nothing to deliver for (e.g. deleted in the source), grouped by reason. */
  skips?: ErrorGroup[];
  /** The fatal error that stopped the run, if any. */
  fatal?: { code: string; message: string; hint?: string | undefined } | undefined;
  /** Cursor after the run. */
  cursor?: string | null | undefined;
  /** Items delivered from an earlier run's queue before reading. */
  resumed?: number;
}

export interface RunLock {
  release(): void;
}

/**
 * Durable state of schemes, separated by scheme id: write queue, cursors, id map (source key → target id)
 * with the fingerprint of what was last delivered, run history and dead letters (queue items with status
 * `dead`). Never holds credentials. Default implementation: SQLite under the state directory.
 */
export interface StateStore {
  /** Takes the scheme's run lock; throws (or waits, with `wait`) when another process holds it. */
  lock(scheme: string, options?: { wait?: boolean; timeoutMs?: number; signal?: AbortSignal }): Promise<RunLock>;

  getCursor(scheme: string, stream: string): string | undefined;
  setCursor(scheme: string, stream: string, value: string): void;

  /** What was last delivered for these keys. */
  delivered(scheme: string, keys: string[]): Map<string, Delivered>;
  /**
   * Adds items in one transaction. An item replaces the queued item of the same key; one in flight
   * keeps its status and is written again, with the new payload, once the current write completes.
   */
  enqueue(scheme: string, runId: string, items: EnqueueItem[]): void;
  /**
   * The write path of a run: adds items as `enqueue` does, durably, and claims at once (in flight,
   * attempts 1) those this process's writers can take straight away, saving a claim per item. Returns,
   * per item, the claimed item, or `undefined` when it went to the queue to be claimed later: a dead
   * letter, or a key that already has a queued item (which it replaces; one in flight is written again
   * with the new content once the current write ends). Items a process dies holding are found by
   * `recoverInFlight` like any other write left in flight.
   */
  enqueueClaimed(scheme: string, runId: string, items: EnqueueItem[]): (QueueItem | undefined)[];
  /** Marks up to `limit` pending items in flight (attempts + 1) and returns them, oldest first. */
  claim(scheme: string, limit: number): QueueItem[];
  /** Marks written items done and records their target id and fingerprint, in one transaction. */
  complete(scheme: string, completions: Completion[]): void;
  fail(scheme: string, failures: Failure[]): void;
  /** Puts items left in flight (by a process that died) back to pending, flagged maybe-written. */
  recoverInFlight(scheme: string): number;

  counts(scheme: string): Record<QueueStatus, number>;
  list(scheme: string, options?: { status?: QueueStatus; limit?: number; offset?: number }): QueueItem[];
  /** Dead letters back to pending (重新排队): all, or the given ids. Returns how many. */
  requeueDead(scheme: string, ids?: number[]): number;
  /** Dead letters grouped by error code. */
  deadGroups(scheme: string): ErrorGroup[];

  startRun(scheme: string, report: RunReport): void;
  finishRun(scheme: string, report: RunReport): void;
  runs(scheme: string, limit?: number): RunReport[];
  /** Scheme ids that have any state. */
  schemes(): string[];

  close(): void;
}

export const StateStoreToken: InjectionToken<StateStore> = Symbol.for('qiao.StateStore');
