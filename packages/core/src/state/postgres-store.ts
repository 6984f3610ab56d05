import pg from 'pg';
import type {
  Completion,
  Deletion,
  DeletionLog,
  DeletionStatus,
  DeletionUpdate,
  Delivered,
  EnqueueItem,
  ErrorGroup,
  Failure,
  HolderQuery,
  LeaseOptions,
  ListOptions,
  LockHolder,
  LockOptions,
  QueueItem,
  QueueStatus,
  RunLock,
  RunReport,
  StateAdmin,
  StateStore,
} from '../contracts/state-store.js';
import { PgDeletions } from './postgres-deletions.js';
import { parseDatabaseUrl, pgStateDeleted, toPgStateError, type PgTarget } from './postgres-errors.js';
import { migratePg, readVersion } from './postgres-migrations.js';
import { PgQueue, withClient } from './postgres-queue.js';
import { PgRunLock } from './postgres-run.lock.js';

export { PG_SCHEMA_VERSION, pgMigrations } from './postgres-migrations.js';
export { parseDatabaseUrl, redactDatabaseUrl, type PgTarget } from './postgres-errors.js';

/** Options of {@link PostgresStateStore.open}. */
export interface PostgresStateStoreOptions {
  /**
   * Create the schema and its tables when they do not exist. Commands that only look at state
   * (`qiao overview`, `queue`, `runs`, `unlock`) pass `false`: a schema without qiao state then fails
   * with a `StateError` (reason `state.deleted`) instead of showing an empty new one.
   * @default true
   */
  create?: boolean;
  /** How run locks are leased and renewed. @default { leaseMs: 60_000, renewEveryMs: 10_000 } */
  lease?: LeaseOptions;
  /**
   * Connections of the pool. A run needs one at a time for its own calls (they are applied in order)
   * and one for its lock's heartbeat.
   * @default 4
   */
  maxConnections?: number;
  /**
   * How long to wait for a connection before failing with `state.unavailable`.
   * @default 10_000
   */
  connectTimeoutMs?: number;
  /** Where the URL came from, named when it is invalid. @default 'flag --database' */
  source?: string;
}

/**
 * A {@link StateStore} (and {@link StateAdmin}, {@link DeletionLog}) in PostgreSQL, for qiao processes
 * on several machines sharing one state: the id map with fingerprints, cursors, the write queue and
 * dead letters, run history, deletions and run locks, in the tables of one schema (`?schema=` of the
 * URL, default `qiao`), versioned by `qiao_schema_version` (postgres-migrations.ts). It mirrors the
 * SQLite store's semantics and is tested by the same suite (core/test/state-*.test.ts).
 *
 * The calls made on one store are applied one after another in the order they are made (the contract:
 * "a store answers the calls of one run in the order they are made"), each in its own statement or
 * transaction; the lock's heartbeat goes beside them. Connections come from a `pg` pool.
 *
 * Failures of the server or the connection (unreachable, stopped, disk full, login refused, the schema
 * dropped) reject as a `StateError` naming `host:port`, the database and the schema, never the password
 * (postgres-errors.ts); any other error is passed on as it is.
 */
export class PostgresStateStore implements StateStore, StateAdmin, DeletionLog {
  /** Calls of this store, applied one after another. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly queue: PgQueue;
  private readonly deletions: PgDeletions;
  private readonly runLock: PgRunLock;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly pool: pg.Pool,
    /** Where the state lives (URL without password, server, database, schema). */
    readonly target: PgTarget,
    /** The id written when this state was made; another one means it was dropped and made again. */
    private readonly instance: string,
    /** The state did not exist before this store opened it (a first run, or it was dropped). */
    readonly created: boolean,
    lease: LeaseOptions | undefined,
  ) {
    this.queue = new PgQueue(pool);
    this.deletions = new PgDeletions(pool);
    this.runLock = new PgRunLock(pool, target, lease);
  }

  /**
   * Connects to the database of `url` (`postgres://user:password@host:port/database?schema=NAME`),
   * checks its state and brings its schema up to date.
   * @throws InputError (exit 2) when the URL is not a PostgreSQL URL, or a newer qiao wrote the state.
   * @throws StateError (exit 3) when PostgreSQL cannot be reached or used, or (with `create: false`) the schema holds no qiao state.
   */
  static async open(url: string, options: PostgresStateStoreOptions = {}): Promise<PostgresStateStore> {
    const { connectionString, target } = parseDatabaseUrl(url, options.source);
    const pool = new pg.Pool({
      connectionString,
      // every table of the state lives in its schema (checked: lower-case letters, digits and _)
      options: `-c search_path=${target.schema}`,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
      application_name: 'qiao',
    });
    // an idle connection dropped by the server (restart, network) must not crash the process: the
    // next query gets a new one, or fails with a StateError
    pool.on('error', () => undefined);
    try {
      // fails early on a bad lease, before any connection
      new PgRunLock(pool, target, options.lease);
      const { created, instance } = await withClient(pool, async (client) => {
        const before = await readVersion(client, target.schema);
        if (!before && options.create === false) throw pgStateDeleted(target, 'before');
        return { created: before === undefined, instance: await migratePg(client, target) };
      });
      return new PostgresStateStore(pool, target, instance, created, options.lease);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw toPgStateError(e, target) ?? e;
    }
  }

  /** Runs `fn` after every call made before it; a failure of PostgreSQL becomes a `StateError`. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      try {
        return await fn();
      } catch (e) {
        throw toPgStateError(e, this.target) ?? e;
      }
    };
    const out = this.tail.then(run, run);
    this.tail = out.catch(() => undefined);
    return out;
  }

  // ---- the run path (StateStore) ----------------------------------------------------------------

  async lock(scheme: string, options?: LockOptions): Promise<RunLock> {
    try {
      return await this.runLock.take(scheme, options);
    } catch (e) {
      throw toPgStateError(e, this.target) ?? e;
    }
  }

  getCursor(scheme: string, stream: string): Promise<string | undefined> {
    return this.serial(async () => (await this.pool.query<{ value: string }>('SELECT value FROM cursors WHERE scheme = $1 AND stream = $2', [scheme, stream])).rows[0]?.value);
  }

  setCursor(scheme: string, stream: string, value: string): Promise<void> {
    return this.serial(async () => {
      await this.pool.query(
        `INSERT INTO cursors (scheme, stream, value, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scheme, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [scheme, stream, value, new Date()],
      );
    });
  }

  delivered(scheme: string, keys: string[]): Promise<Map<string, Delivered>> {
    return this.serial(() => this.queue.delivered(scheme, keys));
  }

  holders(scheme: string, query: HolderQuery): Promise<Delivered[]> {
    return this.serial(() => this.queue.holders(scheme, query));
  }

  enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void> {
    return this.serial(() => this.queue.enqueue(scheme, runId, items));
  }

  claim(scheme: string, limit: number): Promise<QueueItem[]> {
    return this.serial(() => this.queue.claim(scheme, limit));
  }

  complete(scheme: string, completions: Completion[]): Promise<void> {
    return this.serial(() => this.queue.complete(scheme, completions));
  }

  fail(_scheme: string, failures: Failure[]): Promise<void> {
    return this.serial(() => this.queue.fail(failures));
  }

  recoverInFlight(scheme: string): Promise<number> {
    return this.serial(() => this.queue.recoverInFlight(scheme));
  }

  counts(scheme: string): Promise<Record<QueueStatus, number>> {
    return this.serial(() => this.queue.counts(scheme));
  }

  startRun(scheme: string, report: RunReport): Promise<void> {
    return this.serial(async () => {
      await this.pool.query(
        `INSERT INTO runs (scheme, run_id, status, started_at, finished_at, report) VALUES ($1, $2, $3, $4, $5, $6::json)
         ON CONFLICT (scheme, run_id) DO UPDATE SET status = excluded.status, started_at = excluded.started_at, finished_at = excluded.finished_at, report = excluded.report`,
        [scheme, report.runId, report.status, report.startedAt, report.finishedAt, JSON.stringify(report)],
      );
    });
  }

  finishRun(scheme: string, report: RunReport): Promise<void> {
    return this.serial(async () => {
      await this.pool.query('UPDATE runs SET status = $1, finished_at = $2, report = $3::json WHERE scheme = $4 AND run_id = $5', [
        report.status,
        report.finishedAt,
        JSON.stringify(report),
        scheme,
        report.runId,
      ]);
    });
  }

  // ---- operator commands (StateAdmin) -----------------------------------------------------------

  list(scheme: string, options?: ListOptions): Promise<QueueItem[]> {
    return this.serial(() => this.queue.list(scheme, options));
  }

  requeueDead(scheme: string, ids?: number[]): Promise<number> {
    return this.serial(() => this.queue.requeueDead(scheme, ids));
  }

  deadGroups(scheme: string): Promise<ErrorGroup[]> {
    return this.serial(() => this.queue.deadGroups(scheme));
  }

  runs(scheme: string, limit = 20): Promise<RunReport[]> {
    return this.serial(async () => {
      const r = await this.pool.query<{ report: RunReport }>('SELECT report FROM runs WHERE scheme = $1 ORDER BY started_at DESC, seq DESC LIMIT $2', [scheme, limit]);
      return r.rows.map((row) => row.report);
    });
  }

  schemes(): Promise<string[]> {
    return this.serial(async () => {
      const r = await this.pool.query<{ scheme: string }>(
        `SELECT scheme FROM (SELECT scheme FROM runs UNION SELECT scheme FROM queue UNION SELECT scheme FROM cursors UNION SELECT scheme FROM deletions) AS s
         ORDER BY scheme COLLATE "C"`,
      );
      return r.rows.map((row) => row.scheme);
    });
  }

  lockHolder(scheme: string): Promise<LockHolder | undefined> {
    return this.serial(() => this.runLock.holder(scheme));
  }

  unlock(scheme: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'>): Promise<boolean> {
    return this.serial(() => this.runLock.unlock(scheme, holder));
  }

  // ---- records deleted in the source (DeletionLog) ------------------------------------------------

  deletionsOf(scheme: string, keys: string[]): Promise<Map<string, Deletion>> {
    return this.serial(() => this.deletions.deletionsOf(scheme, keys));
  }

  saveDeletions(scheme: string, runId: string, rows: DeletionUpdate[]): Promise<void> {
    return this.serial(() => this.deletions.saveDeletions(scheme, runId, rows));
  }

  dropDeletions(scheme: string, keys: string[]): Promise<void> {
    return this.serial(() => this.deletions.dropDeletions(scheme, keys));
  }

  listDeletions(scheme: string, options?: { status?: DeletionStatus[]; limit?: number }): Promise<Deletion[]> {
    return this.serial(() => this.deletions.listDeletions(scheme, options));
  }

  deletionCounts(scheme: string): Promise<Partial<Record<DeletionStatus, number>>> {
    return this.serial(() => this.deletions.deletionCounts(scheme));
  }

  // ---- both -------------------------------------------------------------------------------------

  checkIntact(): Promise<void> {
    return this.serial(async () => {
      const now = await readVersion(this.pool, this.target.schema);
      // dropped, or dropped and made again by another qiao: not the state this store has been writing
      if (now?.instance !== this.instance) throw pgStateDeleted(this.target, 'during');
    });
  }

  /** Waits for the calls under way, stops lock heartbeats, lets releases finish and ends the pool. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.tail;
      await this.runLock.stopAll();
      await this.pool.end().catch(() => undefined);
    })();
    return this.closed;
  }
}
