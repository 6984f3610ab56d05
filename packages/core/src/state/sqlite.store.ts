import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Completion,
  Delivered,
  EnqueueItem,
  ErrorGroup,
  Failure,
  QueueItem,
  QueueStatus,
  RunLock,
  RunReport,
  StateStore,
} from '../contracts/state-store.js';
import { SchemeError } from '../errors/errors.js';
import { lockHeldError } from './lock-error.js';

/** Each entry moves the database from version i to i + 1. Never edit one that has shipped; add another. */
export const migrations: string[] = [
  // v1: queue, cursors, delivered (id map + fingerprints), runs, locks
  `CREATE TABLE queue (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     scheme TEXT NOT NULL,
     key TEXT NOT NULL,
     payload TEXT,
     fingerprint TEXT NOT NULL,
     cursor TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending','in-flight','done','dead')),
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error_code TEXT,
     last_error_message TEXT,
     run_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     UNIQUE (scheme, key)
   );
   CREATE INDEX queue_status ON queue (scheme, status, id);
   CREATE TABLE cursors (scheme TEXT NOT NULL, stream TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (scheme, stream));
   CREATE TABLE delivered (scheme TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, target_id TEXT, delivered_at TEXT NOT NULL, PRIMARY KEY (scheme, key));
   CREATE TABLE runs (scheme TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, report TEXT NOT NULL, PRIMARY KEY (scheme, run_id));
   CREATE TABLE locks (scheme TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL);`,
  // v2: maybe-written flag (crash-safe upserts), source data for records that failed to map
  `ALTER TABLE queue ADD COLUMN maybe_written INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE queue ADD COLUMN source TEXT;
   CREATE INDEX runs_started ON runs (scheme, started_at);`,
];

export const SCHEMA_VERSION = migrations.length;

/** The state directory: `--state DIR`, else `QIAO_STATE_DIR`, else `.qiao/` in the working directory. */
export function resolveStateDir(flag?: string, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  return flag ?? env.QIAO_STATE_DIR ?? join(cwd, '.qiao');
}

interface QueueRow {
  id: number;
  key: string;
  payload: string | null;
  source: string | null;
  fingerprint: string;
  cursor: string | null;
  status: QueueStatus;
  attempts: number;
  maybe_written: number;
  last_error_code: string | null;
  last_error_message: string | null;
  run_id: string;
  created_at: string;
  updated_at: string;
}

/** The default {@link StateStore}: one SQLite database (WAL) in the state directory, `state.db`. */
export class SqliteStateStore implements StateStore {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly dir: string, options: { file?: string } = {}) {
    let path: string;
    try {
      mkdirSync(dir, { recursive: true });
      path = join(dir, options.file ?? 'state.db');
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      // A process crash loses nothing in WAL mode at NORMAL; only a power cut can lose the last commit.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 10000');
    } catch (e) {
      throw new SchemeError(
        [{ file: dir, pointer: '', expected: 'a writable state directory', found: (e as Error).message, hint: 'pass --state DIR or set QIAO_STATE_DIR to a writable folder' }],
      );
    }
    migrate(this.db);
    const db = this.db;
    this.stmts = {
      getCursor: db.prepare<[string, string], { value: string }>('SELECT value FROM cursors WHERE scheme = ? AND stream = ?'),
      setCursor: db.prepare(
        `INSERT INTO cursors (scheme, stream, value, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (scheme, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      delivered: db.prepare<[string, string], { key: string; fingerprint: string; target_id: string | null }>(
        'SELECT key, fingerprint, target_id FROM delivered WHERE scheme = ? AND key IN (SELECT value FROM json_each(?))',
      ),
      enqueue: db.prepare(
        `INSERT INTO queue (scheme, key, payload, source, fingerprint, cursor, status, attempts, last_error_code, last_error_message, run_id, created_at, updated_at)
         VALUES (@scheme, @key, @payload, @source, @fingerprint, @cursor, @status, 0, @code, @message, @runId, @now, @now)
         ON CONFLICT (scheme, key) DO UPDATE SET
           payload = excluded.payload, source = excluded.source, cursor = excluded.cursor, run_id = excluded.run_id, updated_at = excluded.updated_at,
           last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
           -- an item in flight keeps its status: its completion sees the new fingerprint and re-queues it
           status = CASE WHEN queue.status = 'in-flight' THEN 'in-flight' ELSE excluded.status END,
           attempts = CASE WHEN queue.status = 'in-flight' THEN queue.attempts ELSE 0 END,
           fingerprint = excluded.fingerprint`,
      ),
      claim: db.prepare<[string, string, number], QueueRow>(
        `UPDATE queue SET status = 'in-flight', attempts = attempts + 1, updated_at = ?
         WHERE id IN (SELECT id FROM queue WHERE scheme = ? AND status = 'pending' ORDER BY id LIMIT ?)
         RETURNING *`,
      ),
      // Completions come as one JSON array [{id, key, fp, tid}] per batch: two statements, not two per item.
      complete: db.prepare(
        `UPDATE queue SET status = CASE WHEN queue.fingerprint = c.fp THEN 'done' ELSE 'pending' END,
           maybe_written = 0, last_error_code = NULL, last_error_message = NULL, updated_at = @now
         FROM (SELECT value ->> '$.id' AS id, value ->> '$.fp' AS fp FROM json_each(@batch)) AS c
         WHERE queue.id = c.id`,
      ),
      deliver: db.prepare(
        `INSERT INTO delivered (scheme, key, fingerprint, target_id, delivered_at)
         SELECT @scheme, value ->> '$.key', value ->> '$.fp', value ->> '$.tid', @now FROM json_each(@batch) WHERE true
         ON CONFLICT (scheme, key) DO UPDATE SET fingerprint = excluded.fingerprint,
           target_id = COALESCE(excluded.target_id, delivered.target_id), delivered_at = excluded.delivered_at`,
      ),
      fail: db.prepare(
        `UPDATE queue SET status = @status, last_error_code = @code, last_error_message = @message,
           maybe_written = CASE WHEN @maybeWritten THEN 1 ELSE maybe_written END, updated_at = @now WHERE id = @id`,
      ),
      recover: db.prepare(
        `UPDATE queue SET status = 'pending', maybe_written = 1, updated_at = ? WHERE scheme = ? AND status = 'in-flight'`,
      ),
      counts: db.prepare<[string], { status: QueueStatus; n: number }>(
        'SELECT status, COUNT(*) AS n FROM queue WHERE scheme = ? GROUP BY status',
      ),
      requeueAll: db.prepare(
        `UPDATE queue SET status = 'pending', attempts = 0, updated_at = ? WHERE scheme = ? AND status = 'dead'`,
      ),
      requeueOne: db.prepare(
        `UPDATE queue SET status = 'pending', attempts = 0, updated_at = ? WHERE scheme = ? AND status = 'dead' AND id = ?`,
      ),
      deadGroups: db.prepare<[string], { code: string; message: string; n: number }>(
        `SELECT COALESCE(last_error_code, 'unknown') AS code, MAX(last_error_message) AS message, COUNT(*) AS n
         FROM queue WHERE scheme = ? AND status = 'dead' GROUP BY code ORDER BY n DESC`,
      ),
      startRun: db.prepare(
        'INSERT OR REPLACE INTO runs (scheme, run_id, status, started_at, finished_at, report) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      finishRun: db.prepare('UPDATE runs SET status = ?, finished_at = ?, report = ? WHERE scheme = ? AND run_id = ?'),
      runs: db.prepare<[string, number], { report: string }>(
        'SELECT report FROM runs WHERE scheme = ? ORDER BY started_at DESC, rowid DESC LIMIT ?',
      ),
      schemes: db.prepare<[], { scheme: string }>(
        'SELECT scheme FROM runs UNION SELECT scheme FROM queue UNION SELECT scheme FROM cursors ORDER BY 1',
      ),
      lockGet: db.prepare<[string], { pid: number; host: string; acquired_at: string }>('SELECT pid, host, acquired_at FROM locks WHERE scheme = ?'),
      lockPut: db.prepare('INSERT OR REPLACE INTO locks (scheme, pid, host, acquired_at) VALUES (?, ?, ?, ?)'),
      lockDel: db.prepare('DELETE FROM locks WHERE scheme = ? AND pid = ? AND host = ?'),
    };
  }

  async lock(scheme: string, options: { wait?: boolean; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<RunLock> {
    const started = Date.now();
    const me = { pid: process.pid, host: hostname() };
    const tryTake = this.db.transaction((): { pid: number; host: string; acquired_at: string } | undefined => {
      const held = this.stmts.lockGet.get(scheme);
      if (held && !(held.pid === me.pid && held.host === me.host) && isAlive(held)) return held;
      this.stmts.lockPut.run(scheme, me.pid, me.host, new Date().toISOString());
      return undefined;
    });
    for (;;) {
      const holder = tryTake.immediate();
      if (!holder) {
        let released = false;
        return {
          release: () => {
            if (released) return;
            released = true;
            try {
              this.stmts.lockDel.run(scheme, me.pid, me.host);
            } catch {
              // the database is already closed: the lock dies with the process
            }
          },
        };
      }
      if (!options.wait || (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs)) {
        throw lockHeldError(scheme, this.dir, holder);
      }
      await sleep(250, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  getCursor(scheme: string, stream: string): string | undefined {
    return this.stmts.getCursor.get(scheme, stream)?.value;
  }

  setCursor(scheme: string, stream: string, value: string): void {
    this.stmts.setCursor.run(scheme, stream, value, new Date().toISOString());
  }

  delivered(scheme: string, keys: string[]): Map<string, Delivered> {
    const out = new Map<string, Delivered>();
    if (keys.length === 0) return out;
    for (const row of this.stmts.delivered.all(scheme, JSON.stringify(keys))) {
      out.set(row.key, { key: row.key, fingerprint: row.fingerprint, targetId: row.target_id });
    }
    return out;
  }

  enqueue(scheme: string, runId: string, items: EnqueueItem[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const it of items) {
        this.stmts.enqueue.run({
          scheme,
          key: it.key,
          payload: it.payload === null ? null : JSON.stringify(it.payload),
          source: it.source ? JSON.stringify(it.source) : null,
          fingerprint: it.fingerprint,
          cursor: it.cursor ?? null,
          status: it.dead ? 'dead' : 'pending',
          code: it.dead?.code ?? null,
          message: it.dead?.message ?? null,
          runId,
          now,
        });
      }
    })();
  }

  claim(scheme: string, limit: number): QueueItem[] {
    const items = this.stmts.claim.all(new Date().toISOString(), scheme, limit).map(toItem);
    // The id map of the whole batch in one query, rather than a lookup per row.
    const known = this.delivered(scheme, items.map((i) => i.key));
    for (const item of items) item.knownId = known.get(item.key)?.targetId ?? null;
    return items.sort((a, b) => a.id - b.id);
  }

  complete(scheme: string, completions: Completion[]): void {
    if (completions.length === 0) return;
    const now = new Date().toISOString();
    const batch = JSON.stringify(completions.map((c) => ({ id: c.id, key: c.key, fp: c.fingerprint, tid: c.targetId ?? null })));
    this.db.transaction(() => {
      this.stmts.complete.run({ batch, now });
      this.stmts.deliver.run({ scheme, batch, now });
    })();
  }

  fail(_scheme: string, failures: Failure[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const f of failures) {
        this.stmts.fail.run({
          id: f.id,
          status: f.dead ? 'dead' : 'pending',
          code: f.code,
          message: f.message,
          maybeWritten: f.maybeWritten ? 1 : 0,
          now,
        });
      }
    })();
  }

  recoverInFlight(scheme: string): number {
    return this.stmts.recover.run(new Date().toISOString(), scheme).changes;
  }

  counts(scheme: string): Record<QueueStatus, number> {
    const out: Record<QueueStatus, number> = { pending: 0, 'in-flight': 0, done: 0, dead: 0 };
    for (const r of this.stmts.counts.all(scheme)) out[r.status] = r.n;
    return out;
  }

  list(scheme: string, options: { status?: QueueStatus; limit?: number; offset?: number } = {}): QueueItem[] {
    const rows = options.status
      ? this.db
          .prepare<[string, string, number, number], QueueRow>('SELECT * FROM queue WHERE scheme = ? AND status = ? ORDER BY id LIMIT ? OFFSET ?')
          .all(scheme, options.status, options.limit ?? 100, options.offset ?? 0)
      : this.db
          .prepare<[string, number, number], QueueRow>('SELECT * FROM queue WHERE scheme = ? ORDER BY id LIMIT ? OFFSET ?')
          .all(scheme, options.limit ?? 100, options.offset ?? 0);
    return rows.map(toItem);
  }

  requeueDead(scheme: string, ids?: number[]): number {
    const now = new Date().toISOString();
    if (!ids) return this.stmts.requeueAll.run(now, scheme).changes;
    return this.db.transaction(() => ids.reduce((n, id) => n + this.stmts.requeueOne.run(now, scheme, id).changes, 0))();
  }

  deadGroups(scheme: string): ErrorGroup[] {
    return this.stmts.deadGroups.all(scheme).map((r) => ({ code: r.code, message: r.message, count: r.n }));
  }

  startRun(scheme: string, report: RunReport): void {
    this.stmts.startRun.run(scheme, report.runId, report.status, report.startedAt, report.finishedAt, JSON.stringify(report));
  }

  finishRun(scheme: string, report: RunReport): void {
    this.stmts.finishRun.run(report.status, report.finishedAt, JSON.stringify(report), scheme, report.runId);
  }

  runs(scheme: string, limit = 20): RunReport[] {
    return this.stmts.runs.all(scheme, limit).map((r) => JSON.parse(r.report) as RunReport);
  }

  schemes(): string[] {
    return this.stmts.schemes.all().map((r) => r.scheme);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SchemeError([
      {
        file: db.name,
        pointer: '',
        expected: `a state database of schema version ${SCHEMA_VERSION} or older`,
        found: `version ${current}, written by a newer qiao`,
        hint: 'upgrade qiao, or point --state at another directory',
      },
    ]);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

function toItem(r: QueueRow): QueueItem {
  return {
    id: r.id,
    key: r.key,
    payload: r.payload === null ? null : (JSON.parse(r.payload) as QueueItem['payload']),
    source: r.source === null ? null : (JSON.parse(r.source) as QueueItem['source']),
    fingerprint: r.fingerprint,
    cursor: r.cursor,
    status: r.status,
    attempts: r.attempts,
    maybeWritten: r.maybe_written === 1,
    lastErrorCode: r.last_error_code,
    lastErrorMessage: r.last_error_message,
    runId: r.run_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function isAlive(holder: { pid: number; host: string }): boolean {
  if (holder.host !== hostname()) return true; // another machine: trust the lock
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
