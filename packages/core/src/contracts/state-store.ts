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
  /** The target's code this key was last delivered under (as the target answered it), filled in by `claim`. */
  knownCode?: string | null;
  /**
   * The top-level fields of the payload last delivered for this key, filled in by `claim`; `null`
   * when unknown (never delivered, or delivered before qiao kept them). An update clears those the
   * payload no longer has.
   */
  knownFields?: string[] | null;
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
  /** The target's code of the record as the target answered the last write (a coding rule may have replaced it). */
  targetCode?: string | null;
  /** The mapped upsert key (the operation's `upsert.key`, e.g. YonBIP's `code`) last delivered for this key. */
  businessKey?: string | null;
  /** The top-level fields the delivered payload had (see {@link QueueItem.knownFields}). */
  fields?: string[] | null;
}

/** What {@link StateStore.holders} looks for: id map rows holding any of these codes or target ids. */
export interface HolderQuery {
  /** Matched against both the mapped upsert key (`businessKey`) and the code the target answered (`targetCode`). */
  codes?: string[];
  targetIds?: string[];
}

export interface Completion {
  id: number;
  key: string;
  fingerprint: string;
  outcome: WriteOutcome;
  targetId?: string | undefined;
  /** The code the target answered; a missing one keeps the known code. */
  targetCode?: string | undefined;
  /** The mapped upsert key of the payload written. */
  businessKey?: string | undefined;
  /** The top-level fields of the payload written (those with a value). */
  fields?: string[] | undefined;
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

/** How a run ended (or `running`). */
export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'cancelled' | 'running';

/** The run report: printed by `qiao run --json`, kept in run history. */
export interface RunReport {
  scheme: string;
  runId: string;
  /**
   * `cancelled`: the user (or `qiao serve` shutting down) stopped the run; what it read and did not
   * write stays queued for the next run. Not a failure: it does not count against the success rate.
   */
  status: RunStatus;
  counts: RunCounts;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number;
  errors: ErrorGroup[];
  /** Records the source had nothing to deliver for (e.g. deleted in the source), grouped by reason. */
  skips?: ErrorGroup[];
  /**
   * What the source warned about a read that finished but may not match the system (rows that kept
   * moving, fewer rows than the system counted), grouped by code.
   */
  warnings?: ErrorGroup[];
  /** The fatal error that stopped the run, if any. */
  fatal?: { code: string; message: string; hint?: string | undefined } | undefined;
  /** Cursor after the run. */
  cursor?: string | null | undefined;
  /** Items delivered from an earlier run's queue before reading. */
  resumed?: number;
  /** What the run did about records deleted in the source (`target.onDelete`); absent when it read none. */
  deletions?: DeletionCounts;
  /**
   * How much of the run each connection spent throttled by its system's rate limit (source first,
   * then target); absent in reports of runs before it existed.
   */
  throttling?: ConnectionThrottle[];
}

/**
 * The rate limiting of one connection of a run: in the run report (for the whole run) and in every
 * progress event (so far). Figures are of this run only.
 */
export interface ConnectionThrottle {
  /** Which connection of the scheme. */
  side: 'source' | 'target';
  /** Its connector (`okki`, `yonbip`). */
  connector: string;
  /**
   * Wall time (ms) during which the connection's limiter held requests back because the system
   * refused some for its rate limit (its pauses and the spacing at the rate it learned).
   */
  throttledMs: number;
  /** `throttledMs` as a share (0..1) of the run's wall time so far. */
  share: number;
  /** Answers that refused a request for the rate limit (HTTP 429, YonBIP 310039…). */
  rateLimitedAnswers: number;
  /** Starts per second the limiter allows now: the configured rate, or the one it learned below it. */
  ratePerSecond?: number | undefined;
  /** Starts per second the scheme (or manifest) allows at most, when it sets a rate. */
  limitPerSecond?: number | undefined;
  /** Requests are held back by the rate limit right now (in a pause, or spaced at a learned rate). */
  throttled: boolean;
}

/** The report's count of deletions (see {@link DeletionLog}). */
export interface DeletionCounts {
  /** Deleted records the source listed in this run's window. */
  read: number;
  /** New deletions recorded for `qiao overview` without touching the target (`onDelete: report`). */
  reported: number;
  /** Target records stopped (`onDelete: stop`), including those that already were. */
  stopped: number;
  /** Deleted records qiao never delivered: nothing to stop, only reported. */
  notDelivered: number;
  /** Stops that failed; retried by the next run. */
  failed: number;
  /** Deleted records that came back in the source: started again (or taken off the list). */
  restored: number;
}

/**
 * - `reported`: listed for the operator only (`onDelete: report`);
 * - `not_delivered`: `onDelete: stop`, but qiao never wrote this key: nothing to stop;
 * - `stop_pending`: to be stopped (recorded before the target is called: a crash leaves it here, and
 *   the next run stops it);
 * - `stopped`: the target record is stopped;
 * - `stop_failed`: the stop failed (message says why); the next run tries again;
 * - `restore_pending`: the source record came back; the target record is to be started again.
 */
export type DeletionStatus = 'reported' | 'not_delivered' | 'stop_pending' | 'stopped' | 'stop_failed' | 'restore_pending';

/** A record deleted in the source, as the state keeps it. */
export interface Deletion {
  key: string;
  /** Its name as the deleted list showed it, when it had one. */
  name: string | null;
  /** When it was deleted, by the source's clock (its cursor format), when the source said. */
  deletedAt: string | null;
  status: DeletionStatus;
  /** The target id it was delivered under (id map), when qiao delivered it. */
  targetId: string | null;
  /** Why the last stop failed. */
  message: string | null;
  /** What the source's deleted list showed of it (mapped again to stop it, e.g. for YonBIP's org). */
  source: Record<string, unknown> | null;
  /** The run that first saw it deleted. */
  runId: string;
  /** When qiao first saw it deleted (ISO 8601). */
  seenAt: string;
  /** When its status last changed (ISO 8601). */
  updatedAt: string;
}

/** A deletion to record or update; fields left out keep their stored values. */
export interface DeletionUpdate {
  key: string;
  status: DeletionStatus;
  name?: string | null | undefined;
  deletedAt?: string | null | undefined;
  targetId?: string | null | undefined;
  message?: string | null | undefined;
  source?: Record<string, unknown> | null | undefined;
}

/**
 * The records deleted in the source of a scheme, one row per key, until the record comes back: what
 * `qiao overview` lists and what `target.onDelete: stop` still has to do. Both stores implement it.
 */
export interface DeletionLog {
  /** The stored deletions of these keys (keys without one are absent). */
  deletionsOf(scheme: string, keys: string[]): Promise<Map<string, Deletion>>;
  /** Records or updates deletions, in one transaction; a new row remembers `runId` and the time as first seen. */
  saveDeletions(scheme: string, runId: string, rows: DeletionUpdate[]): Promise<void>;
  /** Takes deletions off the log (the source records came back). */
  dropDeletions(scheme: string, keys: string[]): Promise<void>;
  /**
   * Stored deletions, newest first (by when qiao saw them).
   * @param options.status only these statuses @default every status
   * @param options.limit @default 100
   */
  listDeletions(scheme: string, options?: { status?: DeletionStatus[]; limit?: number }): Promise<Deletion[]>;
  /** How many deletions are stored, per status. */
  deletionCounts(scheme: string): Promise<Partial<Record<DeletionStatus, number>>>;
}

/**
 * A scheme's run lock, held for the length of a run. It is a lease: the store renews it while it is
 * held (a heartbeat that does not keep the process alive), and another run takes over a lock whose
 * holder stopped renewing it, whatever host or process wrote it.
 */
export interface RunLock {
  /** Lets the next run of the scheme start, and stops the heartbeat. Safe to call more than once; never rejects. */
  release(): Promise<void>;
  /**
   * Aborts when the lock was taken over (its holder did not renew it within the lease, e.g. the
   * process was stopped for longer than that) or removed by `qiao unlock` while this run held it.
   * Its reason is a `StateError` with reason `state.lock_lost`. A run should stop on it: another run
   * of the scheme may be going on. Absent on stores whose lock cannot be lost.
   */
  readonly lost?: AbortSignal;
  /** The holder whose stale lock this one took over (it stopped renewing it, or its process is gone). */
  readonly tookOver?: LockHolder;
}

/** Who holds a scheme's run lock: shown by `qiao unlock` and in the error a second run gets. */
export interface LockHolder {
  scheme: string;
  pid: number;
  host: string;
  /** When the holder took the lock (ISO 8601). */
  acquiredAt: string;
  /** When the holder last renewed its lease (ISO 8601). */
  renewedAt: string;
  /** How long the lease lasts after each renewal, in milliseconds (the holder's setting). */
  leaseMs: number;
  /** `renewedAt` + `leaseMs`: when another run may take the lock over unless it is renewed. */
  expiresAt: string;
  /**
   * The holder stopped renewing (its lease ran out) or is a process of this host that is gone: the
   * next run of the scheme takes the lock over.
   */
  stale: boolean;
}

/** How a store's run lock is leased and renewed. */
export interface LeaseOptions {
  /**
   * How long a lock stays valid after its last renewal. Another run takes over a lock not renewed for
   * this long, whatever host or process holds it. Keep it well above `renewEveryMs` (a busy event
   * loop or a slow disk delays a renewal) and above the clock difference between hosts sharing a state
   * directory.
   * @default 60_000
   */
  leaseMs?: number;
  /**
   * How often the holder renews its lock.
   * @default 10_000
   * @example { leaseMs: 3_000, renewEveryMs: 500 } // tests
   */
  renewEveryMs?: number;
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
   * process holds it, unless `wait` is set, then resolves once it is free. A stale lock is taken
   * over: its holder did not renew it within its lease (any host, any process), or it is a process
   * of this host that is gone.
   */
  lock(scheme: string, options?: LockOptions): Promise<RunLock>;

  /** The cursor a stream of the scheme reached in its last complete run; `undefined` before the first. */
  getCursor(scheme: string, stream: string): Promise<string | undefined>;
  /** Moves the stream's cursor; called only once everything read up to it is delivered. */
  setCursor(scheme: string, stream: string, value: string): Promise<void>;

  /** What was last delivered for these keys (keys never delivered are absent from the map). */
  delivered(scheme: string, keys: string[]): Promise<Map<string, Delivered>>;
  /**
   * The id map rows (of any source key) that hold one of these codes, as the mapped upsert key or as
   * the code the target answered, or one of these target ids. The write pool asks it before a write, so
   * that two source records never share one target record.
   */
  holders(scheme: string, query: HolderQuery): Promise<Delivered[]>;
  /**
   * Adds items to the queue, durably, in one transaction: pending, or dead letters for items with
   * `dead`. An item replaces the queued item of the same key (a dead letter included); one in flight
   * keeps its status and is written again, with the new content, once the current write completes.
   */
  enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void>;
  /**
   * Marks up to `limit` pending items in flight (attempts + 1) and returns them, oldest first, each
   * with `knownId`, `knownCode` and `knownFields`: the target id, the target's code and the payload's
   * fields its key was last delivered with (or `null`).
   */
  claim(scheme: string, limit: number): Promise<QueueItem[]>;
  /**
   * Records the deliveries (fingerprint, business key, fields, and target id and code when given; a
   * missing one keeps the known one)
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

  /**
   * Checks that the state this store has been writing is still there: rejects with a `StateError`
   * (reason `state.deleted`) when the database was deleted or replaced since the store opened it.
   * A run calls it at its end, before moving the cursor: writes to a deleted database succeed
   * without a word, so only this tells the run that what it recorded is gone.
   */
  checkIntact(): Promise<void>;

  /** Releases the store's resources (connections, file handles) and stops lock heartbeats. The store is not used after. */
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
  /** Who holds the scheme's run lock, or `undefined` when nobody does. */
  lockHolder(scheme: string): Promise<LockHolder | undefined>;
  /**
   * Removes the scheme's run lock (`qiao unlock`), but only if `holder` still holds it (a run that
   * took it in the meantime keeps it). Returns whether a lock was removed. The holder, if it still
   * runs, finds out at its next renewal (`RunLock.lost`).
   */
  unlock(scheme: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'>): Promise<boolean>;
}

