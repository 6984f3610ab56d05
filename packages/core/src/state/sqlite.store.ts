import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
import { InputError } from '../errors/errors.js';
import { checkSchemaReadable, migrate } from './sqlite-migrations.js';
import { SqliteIdMap } from './sqlite-id-map.js';
import { SqliteDeletions } from './sqlite-deletions.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteRunLock } from './sqlite-run.lock.js';
import { stateCorrupt, stateDeleted, stateReadOnly, toStateError, type StatePaths } from './state-errors.js';

export { migrations, SCHEMA_VERSION } from './sqlite-migrations.js';

/** The state directory: `--state DIR`, else `QIAO_STATE_DIR`, else `.qiao/` in the working directory. */
export function resolveStateDir(flag?: string, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  return flag ?? env.QIAO_STATE_DIR ?? join(cwd, '.qiao');
}

/** Options of {@link SqliteStateStore}. */
export interface SqliteStateStoreOptions {
  /**
   * The database's file name inside the state directory.
   * @default 'state.db'
   */
  file?: string;
  /**
   * Create the directory and database when they do not exist. Commands that only look at state
   * (`qiao overview`, `queue`, `runs`, `unlock`) pass `false`: a missing state then fails with a
   * `StateError` (reason `state.deleted`) instead of showing an empty new one.
   * @default true
   */
  create?: boolean;
  /** How run locks are leased and renewed. @default { leaseMs: 60_000, renewEveryMs: 10_000 } */
  lease?: LeaseOptions;
  /**
   * Open the database read-only (`qiao overview`, `queue`, `runs` on a state folder the user may read
   * but not write): nothing is migrated or written; a database of an older schema is refused.
   * @default false
   */
  readOnly?: boolean;
}

/**
 * The default {@link StateStore} (and {@link StateAdmin}): one SQLite database in WAL mode, `state.db` in
 * the state directory, shared by a run and the operator commands of other processes. It composes the
 * schema migrations (sqlite-migrations.ts), the run lock (sqlite-run.lock.ts) and the queue with its id
 * map (sqlite-queue.ts); cursors and run history are a statement each, here.
 *
 * better-sqlite3 answers synchronously; the methods are `async` for the contract's sake, and each runs
 * to its end before it returns, so the calls of a run are applied in the order they are made.
 *
 * Failures of the disk or the file (full, read-only, deleted, corrupt, I/O) reject as a `StateError`
 * naming the path and what to do (state-errors.ts); any other error is passed on as it is.
 */
export class SqliteStateStore implements StateStore, StateAdmin, DeletionLog {
  readonly db: Database.Database;
  /** The database file. */
  readonly file: string;
  /** The database did not exist before this store opened it (a first run, or its state was deleted). */
  readonly created: boolean;
  private readonly paths: StatePaths;
  /** Which file was opened, to notice it deleted or replaced later ({@link checkIntact}). */
  private readonly identity: { dev: number; ino: number };
  private readonly runLock: SqliteRunLock;
  private readonly queue: SqliteQueue;
  private readonly idMap: SqliteIdMap;
  private readonly deletions: SqliteDeletions;
  private readonly stmts;

  /**
   * Opens (or creates) the state database, checks it (`PRAGMA quick_check`) and brings its schema up
   * to date.
   * @throws StateError when the state cannot be used (full, read-only, missing with `create: false`, corrupt).
   * @throws InputError when the path is not a directory, or a newer qiao wrote the database.
   */
  constructor(readonly dir: string, options: SqliteStateStoreOptions = {}) {
    this.file = join(dir, options.file ?? 'state.db');
    this.paths = { dir, file: this.file };
    this.created = !existsSync(this.file);
    if (this.created && options.create === false) throw stateDeleted(this.paths, 'before');
    let db: Database.Database | undefined;
    try {
      if (options.readOnly) {
        db = new Database(this.file, { readonly: true, fileMustExist: true });
        db.pragma('busy_timeout = 10000');
      } else {
        mkdirSync(dir, { recursive: true });
        db = new Database(this.file);
        db.pragma('journal_mode = WAL');
        // A process crash loses nothing in WAL mode at NORMAL; only a power cut can lose the last commit.
        db.pragma('synchronous = NORMAL');
        db.pragma('busy_timeout = 10000');
      }
      // Cheap next to a run (it reads each page once, without checking index contents): a damaged
      // file is named at once instead of failing somewhere in the middle of a run.
      const problems = (db.pragma('quick_check(3)') as { quick_check: string }[]).map((r) => r.quick_check);
      if (problems[0] !== 'ok') throw stateCorrupt(this.paths, problems.join('; '));
      if (options.readOnly) checkSchemaReadable(db);
      else migrate(db);
      const st = statSync(this.file);
      this.identity = { dev: st.dev, ino: st.ino };
    } catch (e) {
      db?.close();
      throw this.openError(e);
    }
    this.db = db;
    try {
      this.runLock = new SqliteRunLock(db, this.paths, options.lease);
    } catch (e) {
      db.close();
      throw e;
    }
    this.queue = new SqliteQueue(db);
    this.idMap = new SqliteIdMap(db);
    this.deletions = new SqliteDeletions(db);
    this.stmts = {
      getCursor: db.prepare<[string, string], { value: string }>('SELECT value FROM cursors WHERE scheme = ? AND stream = ?'),
      setCursor: db.prepare(
        `INSERT INTO cursors (scheme, stream, value, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (scheme, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      startRun: db.prepare('INSERT OR REPLACE INTO runs (scheme, run_id, status, started_at, finished_at, report) VALUES (?, ?, ?, ?, ?, ?)'),
      finishRun: db.prepare('UPDATE runs SET status = ?, finished_at = ?, report = ? WHERE scheme = ? AND run_id = ?'),
      runs: db.prepare<[string, number], { report: string }>('SELECT report FROM runs WHERE scheme = ? ORDER BY started_at DESC, rowid DESC LIMIT ?'),
      schemes: db.prepare<[], { scheme: string }>(
        'SELECT scheme FROM runs UNION SELECT scheme FROM queue UNION SELECT scheme FROM cursors UNION SELECT scheme FROM journal ORDER BY 1',
      ),
    };
  }

  /** What an error met while opening means: SQLite answers "cannot open" for several causes, told apart here. */
  private openError(e: unknown): unknown {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      return new InputError(
        [{ file: this.dir, pointer: '', expected: 'a state directory', found: 'a file', hint: 'pass --state DIR or set QIAO_STATE_DIR to a directory' }],
        { cause: e },
      );
    }
    if (typeof code === 'string' && code.startsWith('SQLITE_CANTOPEN')) {
      if (!existsSync(this.dir)) return stateDeleted(this.paths, 'before', e);
      try {
        accessSync(this.dir, constants.W_OK);
      } catch {
        return stateReadOnly(this.paths, e);
      }
    }
    return toStateError(e, this.paths) ?? e;
  }

  /** Runs a statement; a failure of the disk or the file becomes a `StateError`. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toStateError(e, this.paths) ?? e;
    }
  }

  // ---- the run path (StateStore) ----------------------------------------------------------------

  async lock(scheme: string, options?: LockOptions): Promise<RunLock> {
    try {
      return await this.runLock.take(scheme, options);
    } catch (e) {
      throw toStateError(e, this.paths) ?? e;
    }
  }

  async getCursor(scheme: string, stream: string): Promise<string | undefined> {
    return this.guard(() => this.stmts.getCursor.get(scheme, stream)?.value);
  }

  async setCursor(scheme: string, stream: string, value: string): Promise<void> {
    this.guard(() => this.stmts.setCursor.run(scheme, stream, value, new Date().toISOString()));
  }

  async delivered(scheme: string, keys: string[]): Promise<Map<string, Delivered>> {
    return this.guard(() => this.queue.delivered(scheme, keys));
  }

  async holders(scheme: string, query: HolderQuery): Promise<Delivered[]> {
    return this.guard(() => this.idMap.holders(scheme, query));
  }

  async enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void> {
    this.guard(() => this.queue.enqueue(scheme, runId, items));
  }

  async claim(scheme: string, limit: number): Promise<QueueItem[]> {
    return this.guard(() => this.queue.claim(scheme, limit));
  }

  async complete(scheme: string, completions: Completion[]): Promise<void> {
    this.guard(() => this.queue.complete(scheme, completions));
  }

  async fail(_scheme: string, failures: Failure[]): Promise<void> {
    this.guard(() => this.queue.fail(failures));
  }

  async recoverInFlight(scheme: string): Promise<number> {
    return this.guard(() => this.queue.recoverInFlight(scheme));
  }

  async counts(scheme: string): Promise<Record<QueueStatus, number>> {
    return this.guard(() => this.queue.counts(scheme));
  }

  async startRun(scheme: string, report: RunReport): Promise<void> {
    this.guard(() => this.stmts.startRun.run(scheme, report.runId, report.status, report.startedAt, report.finishedAt, JSON.stringify(report)));
  }

  async finishRun(scheme: string, report: RunReport): Promise<void> {
    this.guard(() => this.stmts.finishRun.run(report.status, report.finishedAt, JSON.stringify(report), scheme, report.runId));
  }

  // ---- operator commands (StateAdmin) -----------------------------------------------------------

  async list(scheme: string, options?: ListOptions): Promise<QueueItem[]> {
    return this.guard(() => this.queue.list(scheme, options));
  }

  async requeueDead(scheme: string, ids?: number[]): Promise<number> {
    return this.guard(() => this.queue.requeueDead(scheme, ids));
  }

  async deadGroups(scheme: string): Promise<ErrorGroup[]> {
    return this.guard(() => this.queue.deadGroups(scheme));
  }

  async runs(scheme: string, limit = 20): Promise<RunReport[]> {
    return this.guard(() => this.stmts.runs.all(scheme, limit)).map((r) => JSON.parse(r.report) as RunReport);
  }

  async schemes(): Promise<string[]> {
    return this.guard(() => this.stmts.schemes.all()).map((r) => r.scheme);
  }

  async lockHolder(scheme: string): Promise<LockHolder | undefined> {
    return this.guard(() => this.runLock.holder(scheme));
  }

  async unlock(scheme: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'>): Promise<boolean> {
    return this.guard(() => this.runLock.unlock(scheme, holder));
  }

  // ---- records deleted in the source (DeletionLog) ------------------------------------------------

  async deletionsOf(scheme: string, keys: string[]): Promise<Map<string, Deletion>> {
    return this.guard(() => this.deletions.deletionsOf(scheme, keys));
  }

  async saveDeletions(scheme: string, runId: string, rows: DeletionUpdate[]): Promise<void> {
    this.guard(() => this.deletions.saveDeletions(scheme, runId, rows));
  }

  async dropDeletions(scheme: string, keys: string[]): Promise<void> {
    this.guard(() => this.deletions.dropDeletions(scheme, keys));
  }

  async listDeletions(scheme: string, options?: { status?: DeletionStatus[]; limit?: number }): Promise<Deletion[]> {
    return this.guard(() => this.deletions.listDeletions(scheme, options));
  }

  async deletionCounts(scheme: string): Promise<Partial<Record<DeletionStatus, number>>> {
    return this.guard(() => this.deletions.deletionCounts(scheme));
  }

  // ---- both -------------------------------------------------------------------------------------

  async checkIntact(): Promise<void> {
    let st;
    try {
      st = statSync(this.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw code === 'ENOENT' || code === 'ENOTDIR' ? stateDeleted(this.paths, 'during', e) : (toStateError(e, this.paths) ?? e);
    }
    // deleted, then made again (by another qiao, or restored): not the file this run wrote to
    if (st.ino !== this.identity.ino || st.dev !== this.identity.dev) throw stateDeleted(this.paths, 'during');
  }

  async close(): Promise<void> {
    this.runLock.stopAll();
    if (this.db.open) this.db.close();
  }
}
