import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Completion,
  Delivered,
  EnqueueItem,
  ErrorGroup,
  Failure,
  ListOptions,
  LockOptions,
  QueueItem,
  QueueStatus,
  RunLock,
  RunReport,
  StateAdmin,
  StateStore,
} from '../contracts/state-store.js';
import { InputError } from '../errors/errors.js';
import { migrate } from './sqlite-migrations.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteRunLock } from './sqlite-run.lock.js';

export { migrations, SCHEMA_VERSION } from './sqlite-migrations.js';

/** The state directory: `--state DIR`, else `QIAO_STATE_DIR`, else `.qiao/` in the working directory. */
export function resolveStateDir(flag?: string, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  return flag ?? env.QIAO_STATE_DIR ?? join(cwd, '.qiao');
}

/**
 * The default {@link StateStore} (and {@link StateAdmin}): one SQLite database in WAL mode, `state.db` in
 * the state directory, shared by a run and the operator commands of other processes. It composes the
 * schema migrations (sqlite-migrations.ts), the run lock (sqlite-run.lock.ts) and the queue with its id
 * map (sqlite-queue.ts); cursors and run history are a statement each, here.
 *
 * better-sqlite3 answers synchronously; the methods are `async` for the contract's sake, and each runs
 * to its end before it returns, so the calls of a run are applied in the order they are made.
 */
export class SqliteStateStore implements StateStore, StateAdmin {
  readonly db: Database.Database;
  private readonly runLock: SqliteRunLock;
  private readonly queue: SqliteQueue;
  private readonly stmts;

  /**
   * Opens (or creates) the state database and brings its schema up to date.
   * @throws InputError when the directory cannot be written, or a newer qiao wrote the database.
   */
  constructor(readonly dir: string, options: { file?: string } = {}) {
    try {
      mkdirSync(dir, { recursive: true });
      this.db = new Database(join(dir, options.file ?? 'state.db'));
      this.db.pragma('journal_mode = WAL');
      // A process crash loses nothing in WAL mode at NORMAL; only a power cut can lose the last commit.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 10000');
    } catch (e) {
      throw new InputError(
        [{ file: dir, pointer: '', expected: 'a writable state directory', found: (e as Error).message, hint: 'pass --state DIR or set QIAO_STATE_DIR to a writable folder' }],
      );
    }
    migrate(this.db);
    const db = this.db;
    this.runLock = new SqliteRunLock(db, dir);
    this.queue = new SqliteQueue(db);
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

  // ---- the run path (StateStore) ----------------------------------------------------------------

  async lock(scheme: string, options?: LockOptions): Promise<RunLock> {
    return this.runLock.take(scheme, options);
  }

  async getCursor(scheme: string, stream: string): Promise<string | undefined> {
    return this.stmts.getCursor.get(scheme, stream)?.value;
  }

  async setCursor(scheme: string, stream: string, value: string): Promise<void> {
    this.stmts.setCursor.run(scheme, stream, value, new Date().toISOString());
  }

  async delivered(scheme: string, keys: string[]): Promise<Map<string, Delivered>> {
    return this.queue.delivered(scheme, keys);
  }

  async enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void> {
    this.queue.enqueue(scheme, runId, items);
  }

  async claim(scheme: string, limit: number): Promise<QueueItem[]> {
    return this.queue.claim(scheme, limit);
  }

  async complete(scheme: string, completions: Completion[]): Promise<void> {
    this.queue.complete(scheme, completions);
  }

  async fail(_scheme: string, failures: Failure[]): Promise<void> {
    this.queue.fail(failures);
  }

  async recoverInFlight(scheme: string): Promise<number> {
    return this.queue.recoverInFlight(scheme);
  }

  async counts(scheme: string): Promise<Record<QueueStatus, number>> {
    return this.queue.counts(scheme);
  }

  async startRun(scheme: string, report: RunReport): Promise<void> {
    this.stmts.startRun.run(scheme, report.runId, report.status, report.startedAt, report.finishedAt, JSON.stringify(report));
  }

  async finishRun(scheme: string, report: RunReport): Promise<void> {
    this.stmts.finishRun.run(report.status, report.finishedAt, JSON.stringify(report), scheme, report.runId);
  }

  // ---- operator commands (StateAdmin) -----------------------------------------------------------

  async list(scheme: string, options?: ListOptions): Promise<QueueItem[]> {
    return this.queue.list(scheme, options);
  }

  async requeueDead(scheme: string, ids?: number[]): Promise<number> {
    return this.queue.requeueDead(scheme, ids);
  }

  async deadGroups(scheme: string): Promise<ErrorGroup[]> {
    return this.queue.deadGroups(scheme);
  }

  async runs(scheme: string, limit = 20): Promise<RunReport[]> {
    return this.stmts.runs.all(scheme, limit).map((r) => JSON.parse(r.report) as RunReport);
  }

  async schemes(): Promise<string[]> {
    return this.stmts.schemes.all().map((r) => r.scheme);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
