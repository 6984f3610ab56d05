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

/** A scheme's run lock, held for the length of a run. */
export interface RunLock {
  /** Lets the next run of the scheme start. Safe to call more than once; never rejects. */
  release(): Promise<void>;
}

/** Options of {@link StateStore.lock}. */
export interface LockOptions {
  /**
   * Wait for the run that holds the lock to finish instead of failing at once.
   * @default false
   */
  wait?: boolean;
  /**
   * With `wait`: give up (and fail as without it) after this many milliseconds.
   * @default undefined (wait as long as it takes)
   */
  timeoutMs?: number;
  /** With `wait`: stop waiting when this signal aborts (the promise rejects with its reason). */
  signal?: AbortSignal;
}

/** Options of {@link StateAdmin.list}. */
export interface ListOptions {
  /** Only items of this status. @default every status */
  status?: QueueStatus;
  /** @default 100 */
  limit?: number;
  /** @default 0 */
  offset?: number;
}

/**
 * What a run needs of the durable state of a scheme: its run lock, the cursor of its stream, the id map
 * (source key → target id, with the fingerprint of what was last delivered), the write queue and the
 * run history it appends to. Schemes are separated by id. Never holds credentials.
 *
 * Every method answers asynchronously, so a store may live on a server (one on PostgreSQL is planned);
 * the default, {@link SqliteStateStore}, is a SQLite database in the state directory. A store answers
 * the calls of one run in the order they are made.
 *
 * What makes a run exactly-once across a crash (SIGKILL, power cut) is in the contract:
 * - an item is durable (`enqueue`) before its write starts (`claim` marks it in flight, durably);
 * - `complete` records the delivery (fingerprint, target id) and takes the item off the queue in one step;
 * - `recoverInFlight`, called under the lock before anything else, puts what a dead process held in
 *   flight back to pending, flagged maybe-written, so the target is asked before the write is repeated;
 * - one key is never in flight twice: content read again during a write waits for that write to end.
 *
 * Operator commands (`qiao queue`, `runs`, `overview`, `serve`) use {@link StateAdmin}.
 */
export interface StateStore {
  /**
   * Takes the scheme's run lock. Rejects with an `InputError` (reason `scheme.locked`) when another
   * process holds it, unless `wait` is set, then resolves once it is free. A lock whose holder died
   * (same host, process gone) is taken over.
   */
  lock(scheme: string, options?: LockOptions): Promise<RunLock>;

  /** The cursor a stream of the scheme reached in its last complete run; `undefined` before the first. */
  getCursor(scheme: string, stream: string): Promise<string | undefined>;
  /** Moves the stream's cursor; called only once everything read up to it is delivered. */
  setCursor(scheme: string, stream: string, value: string): Promise<void>;

  /** What was last delivered for these keys (keys never delivered are absent from the map). */
  delivered(scheme: string, keys: string[]): Promise<Map<string, Delivered>>;
  /**
   * Adds items to the queue, durably, in one transaction: pending, or dead letters for items with
   * `dead`. An item replaces the queued item of the same key (a dead letter included); one in flight
   * keeps its status and is written again, with the new content, once the current write completes.
   */
  enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void>;
  /**
   * Marks up to `limit` pending items in flight (attempts + 1) and returns them, oldest first, each
   * with `knownId`: the target id its key was last delivered under (or `null`).
   */
  claim(scheme: string, limit: number): Promise<QueueItem[]>;
  /**
   * Records the deliveries (fingerprint, and target id when given; a missing one keeps the known id)
   * and takes the items off the queue, in one transaction. An item whose key was read again while in
   * flight (its queued fingerprint differs) goes back to pending, to be written with the new content.
   */
  complete(scheme: string, completions: Completion[]): Promise<void>;
  /** Settles failed writes: dead letters, or back to pending for a later attempt or run (flagged maybe-written when asked). */
  fail(scheme: string, failures: Failure[]): Promise<void>;
  /**
   * Puts items left in flight by a process that died back to pending, flagged maybe-written, and
   * returns how many. Call it holding the scheme's lock, before claiming.
   */
  recoverInFlight(scheme: string): Promise<number>;
  /** Items per status; `done` counts the keys delivered. */
  counts(scheme: string): Promise<Record<QueueStatus, number>>;

  /** Adds a run (status `running`) to the scheme's history. */
  startRun(scheme: string, report: RunReport): Promise<void>;
  /** Replaces the run's report with its final one. */
  finishRun(scheme: string, report: RunReport): Promise<void>;

  /** Releases the store's resources (connections, file handles). The store is not used after. */
  close(): Promise<void>;
}

/**
 * What operators do with the state of schemes (`qiao queue`, `qiao runs`, `qiao overview`, `qiao serve`):
 * look at the queue, the dead letters and the run history, and re-queue dead letters. It may be used
 * while a run of the scheme goes on in another process; what it reads is a consistent snapshot.
 */
export interface StateAdmin extends Pick<StateStore, 'getCursor' | 'counts' | 'close'> {
  /** Queue items (in flight, pending, dead), oldest first. */
  list(scheme: string, options?: ListOptions): Promise<QueueItem[]>;
  /** Dead letters back to pending (重新排队), attempts reset: all, or the given ids. Returns how many. */
  requeueDead(scheme: string, ids?: number[]): Promise<number>;
  /** Dead letters grouped by error code, largest group first. */
  deadGroups(scheme: string): Promise<ErrorGroup[]>;
  /**
   * The scheme's latest runs, newest first.
   * @param limit @default 20
   */
  runs(scheme: string, limit?: number): Promise<RunReport[]>;
  /** Ids of the schemes that have any state, sorted. */
  schemes(): Promise<string[]>;
}

