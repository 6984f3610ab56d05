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
import type { TargetPayload } from '../contracts/target.js';
import { SchemeError } from '../errors/errors.js';
import { claimedItem } from './claimed-item.js';
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
  // v3: the write journal — items handed straight to this process's writers, one row per enqueued batch
  // (see enqueueClaimed); done items leave the queue (their delivery is the record that they are done)
  `CREATE TABLE journal (
     id INTEGER PRIMARY KEY,
     scheme TEXT NOT NULL,
     run_id TEXT NOT NULL,
     n INTEGER NOT NULL,
     items TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX journal_scheme ON journal (scheme, id);
   DELETE FROM queue WHERE status = 'done';`,
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

/** The journal items of a scheme that are in flight (bound: @scheme). */
const JOURNAL_IN_FLIGHT = `FROM journal AS j, json_each(j.items) AS e
  WHERE j.scheme = @scheme
    AND NOT EXISTS (SELECT 1 FROM delivered AS d WHERE d.scheme = @scheme AND d.key = e.value ->> 0 AND d.fingerprint = e.value ->> 2)
    AND NOT EXISTS (SELECT 1 FROM queue AS q WHERE q.scheme = @scheme AND q.key = e.value ->> 0)`;

interface JournalItemRow {
  jid: number;
  idx: number;
  run_id: string;
  created_at: string;
  key: string;
  payload: string;
  fingerprint: string;
  cursor: string | null;
}

/** One item of a journal row: key, mapped payload, fingerprint, cursor. */
type JournalEntry = [key: string, payload: TargetPayload, fingerprint: string, cursor: string | null];

/** A journal item handed to a writer of this process and not yet settled (completed or failed). */
interface ActiveItem {
  jid: number;
  key: string;
  payload: TargetPayload;
  fingerprint: string;
  cursor: string | null;
  runId: string;
}

/** What this process knows of one scheme's journal while it holds the scheme's lock. */
interface JournalState {
  /** Keys that have a row in the queue table: new content for them goes to that row, not the journal. */
  queued: Set<string>;
  /** Journal items in flight, by their (negative) item id. */
  active: Map<number, ActiveItem>;
  /** Key → item id of the journal item in flight for it. */
  activeKeys: Map<string, number>;
  /** Journal row id → items of it not yet settled; the row is deleted when this reaches 0. */
  remaining: Map<number, number>;
  /** Keys read again while their journal item was in flight: their queue row waits (in flight) for it. */
  waiting: Set<string>;
}

/**
 * The default {@link StateStore}: one SQLite database (WAL) in the state directory, `state.db`.
 *
 * The write path of a run (`enqueueClaimed`) keeps one journal row per enqueued batch instead of a queue
 * row per item: the batch is durable before any of it is written, and an item is done once its delivery
 * (key → fingerprint, target id) is recorded. A journal row is deleted when all its items are settled;
 * the rows a dead process leaves are turned back into queue rows by `recoverInFlight` (items whose
 * delivery does not match, flagged maybe-written). Failed items become queue rows (pending or dead).
 */
export class SqliteStateStore implements StateStore {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly journals = new Map<string, JournalState>();
  private nextActiveId = -1;

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
        `INSERT INTO queue (scheme, key, payload, source, fingerprint, cursor, status, attempts, last_error_code, last_error_message, maybe_written, run_id, created_at, updated_at)
         VALUES (@scheme, @key, @payload, @source, @fingerprint, @cursor, @status, 0, @code, @message, @maybeWritten, @runId, @now, @now)
         ON CONFLICT (scheme, key) DO UPDATE SET
           payload = excluded.payload, source = excluded.source, cursor = excluded.cursor, run_id = excluded.run_id, updated_at = excluded.updated_at,
           last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
           -- an item in flight keeps its status: its completion sees the new fingerprint and re-queues it
           status = CASE WHEN queue.status = 'in-flight' THEN 'in-flight' ELSE excluded.status END,
           attempts = CASE WHEN queue.status = 'in-flight' THEN queue.attempts ELSE 0 END,
           maybe_written = MAX(queue.maybe_written, excluded.maybe_written),
           fingerprint = excluded.fingerprint`,
      ),
      // recovery: a journal item back into the queue, unless the key has a queue row (which is newer)
      enqueueRecovered: db.prepare(
        `INSERT INTO queue (scheme, key, payload, fingerprint, cursor, status, attempts, maybe_written, run_id, created_at, updated_at)
         VALUES (@scheme, @key, @payload, @fingerprint, @cursor, 'pending', 1, @maybeWritten, @runId, @now, @now)
         ON CONFLICT (scheme, key) DO NOTHING`,
      ),
      attemptedOnce: db.prepare('UPDATE queue SET attempts = 1 WHERE scheme = ? AND key = ?'),
      journalPut: db.prepare('INSERT INTO journal (scheme, run_id, n, items, created_at) VALUES (?, ?, ?, ?, ?)'),
      journalDel: db.prepare('DELETE FROM journal WHERE id = ?'),
      journalRows: db.prepare<[string], { id: number; run_id: string; items: string }>('SELECT id, run_id, items FROM journal WHERE scheme = ? ORDER BY id'),
      journalDelScheme: db.prepare('DELETE FROM journal WHERE scheme = ?'),
      // Journal items in flight: in a journal row, not delivered as they are, and without a queue row of
      // their key (a failed item has become one, as has newer content waiting for it)
      journalCount: db.prepare<[{ scheme: string }], { n: number }>(`SELECT COUNT(*) AS n ${JOURNAL_IN_FLIGHT}`),
      journalItems: db.prepare<[{ scheme: string; limit: number; offset: number }], JournalItemRow>(
        `SELECT j.id AS jid, CAST(e.key AS INTEGER) AS idx, j.run_id, j.created_at, e.value ->> 0 AS key, e.value -> 1 AS payload,
                e.value ->> 2 AS fingerprint, e.value ->> 3 AS cursor
         ${JOURNAL_IN_FLIGHT} ORDER BY j.id, idx LIMIT @limit OFFSET @offset`,
      ),
      queuedKeys: db.prepare<[string], { key: string }>('SELECT key FROM queue WHERE scheme = ?'),
      releaseWaiting: db.prepare(
        `UPDATE queue SET status = 'pending', maybe_written = MAX(maybe_written, @maybeWritten), updated_at = @now
         WHERE scheme = @scheme AND key = @key AND status = 'in-flight'`,
      ),
      deliveredCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM delivered WHERE scheme = ?'),
      claim: db.prepare<[string, string, number], QueueRow>(
        `UPDATE queue SET status = 'in-flight', attempts = attempts + 1, updated_at = ?
         WHERE id IN (SELECT id FROM queue WHERE scheme = ? AND status = 'pending' ORDER BY id LIMIT ?)
         RETURNING *`,
      ),
      // Completions come as one JSON array [[id, key, fp, tid]] per batch: a few statements, not a few per
      // item. A done item leaves the queue; one read again while in flight (new fingerprint) is pending again.
      completeDone: db.prepare<[string], { key: string }>(
        `DELETE FROM queue WHERE id IN (
           SELECT q.id FROM json_each(?) AS c JOIN queue AS q ON q.id = c.value ->> 0 AND q.fingerprint = c.value ->> 2)
         RETURNING key`,
      ),
      completeAgain: db.prepare(
        `UPDATE queue SET status = 'pending', maybe_written = 0, last_error_code = NULL, last_error_message = NULL, updated_at = @now
         WHERE id IN (SELECT value ->> 0 FROM json_each(@batch))`,
      ),
      deliver: db.prepare(
        `INSERT INTO delivered (scheme, key, fingerprint, target_id, delivered_at)
         SELECT @scheme, value ->> 1, value ->> 2, value ->> 3, @now FROM json_each(@batch) WHERE true
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
        'SELECT scheme FROM runs UNION SELECT scheme FROM queue UNION SELECT scheme FROM cursors UNION SELECT scheme FROM journal ORDER BY 1',
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
    const j = this.journal(scheme);
    this.db.transaction(() => {
      for (const it of items) this.enqueueRow(scheme, runId, it, it.dead ? 'dead' : 'pending', now, j);
    })();
  }

  private enqueueRow(scheme: string, runId: string, it: EnqueueItem, status: QueueStatus, now: string, j: JournalState, maybeWritten = false): void {
    this.stmts.enqueue.run({
      scheme,
      key: it.key,
      payload: it.payload === null ? null : JSON.stringify(it.payload),
      source: it.source ? JSON.stringify(it.source) : null,
      fingerprint: it.fingerprint,
      cursor: it.cursor ?? null,
      status,
      code: it.dead?.code ?? null,
      message: it.dead?.message ?? null,
      maybeWritten: maybeWritten ? 1 : 0,
      runId,
      now,
    });
    j.queued.add(it.key);
  }

  enqueueClaimed(scheme: string, runId: string, items: EnqueueItem[]): (QueueItem | undefined)[] {
    const now = new Date().toISOString();
    const j = this.journal(scheme);
    const out: (QueueItem | undefined)[] = new Array(items.length);
    const entries: JournalEntry[] = [];
    const fresh: number[] = [];
    const journaled = new Set<string>();
    this.db.transaction(() => {
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        if (it.dead || it.payload === null) {
          this.enqueueRow(scheme, runId, it, it.dead ? 'dead' : 'pending', now, j);
        } else if (j.activeKeys.has(it.key) || journaled.has(it.key)) {
          // its journal item is in flight: the new content waits in a queue row until that write ends
          this.enqueueRow(scheme, runId, it, 'in-flight', now, j);
          j.waiting.add(it.key);
        } else if (j.queued.has(it.key)) {
          this.enqueueRow(scheme, runId, it, 'pending', now, j);
        } else {
          entries.push([it.key, it.payload, it.fingerprint, it.cursor ?? null]);
          fresh.push(i);
          journaled.add(it.key);
        }
      }
      if (entries.length === 0) return;
      const jid = Number(this.stmts.journalPut.run(scheme, runId, entries.length, JSON.stringify(entries), now).lastInsertRowid);
      j.remaining.set(jid, entries.length);
      for (let e = 0; e < entries.length; e++) {
        const [key, payload, fp, cursor] = entries[e]!;
        const id = this.nextActiveId--;
        j.active.set(id, { jid, key, payload, fingerprint: fp, cursor, runId });
        j.activeKeys.set(key, id);
        out[fresh[e]!] = claimedItem(id, { key, payload, fingerprint: fp, cursor }, runId, now);
      }
    })();
    return out;
  }

  /** The journal bookkeeping of a scheme, loaded on first use (the queue's keys). */
  private journal(scheme: string): JournalState {
    let j = this.journals.get(scheme);
    if (!j) {
      j = { queued: new Set(this.stmts.queuedKeys.all(scheme).map((r) => r.key)), active: new Map(), activeKeys: new Map(), remaining: new Map(), waiting: new Set() };
      this.journals.set(scheme, j);
    }
    return j;
  }

  /** A journal item is settled: its row goes once all its items are; new content that waited for it is pending. */
  private settle(scheme: string, j: JournalState, id: number, item: ActiveItem, maybeWritten: boolean, now: string): void {
    j.active.delete(id);
    if (j.activeKeys.get(item.key) === id) j.activeKeys.delete(item.key);
    if (j.waiting.delete(item.key)) this.stmts.releaseWaiting.run({ scheme, key: item.key, maybeWritten: maybeWritten ? 1 : 0, now });
    const left = (j.remaining.get(item.jid) ?? 1) - 1;
    if (left > 0) j.remaining.set(item.jid, left);
    else {
      j.remaining.delete(item.jid);
      this.stmts.journalDel.run(item.jid);
    }
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
    const j = this.journal(scheme);
    const rows: [number, string, string, string | null][] = [];
    const queued: [number, string, string, string | null][] = [];
    for (const c of completions) {
      const row: [number, string, string, string | null] = [c.id, c.key, c.fingerprint, c.targetId ?? null];
      rows.push(row);
      if (c.id > 0) queued.push(row);
    }
    this.db.transaction(() => {
      this.stmts.deliver.run({ scheme, batch: JSON.stringify(rows), now });
      if (queued.length) {
        const batch = JSON.stringify(queued);
        for (const r of this.stmts.completeDone.all(batch)) j.queued.delete(r.key);
        this.stmts.completeAgain.run({ batch, now });
      }
      for (const c of completions) {
        if (c.id > 0) continue;
        const item = j.active.get(c.id);
        if (item) this.settle(scheme, j, c.id, item, false, now);
      }
    })();
  }

  fail(scheme: string, failures: Failure[]): void {
    const now = new Date().toISOString();
    const j = this.journal(scheme);
    this.db.transaction(() => {
      for (const f of failures) {
        const item = f.id < 0 ? j.active.get(f.id) : undefined;
        if (item) {
          // new content that waited for this write supersedes it; otherwise the item becomes a queue row
          if (!j.waiting.has(item.key)) {
            this.enqueueRow(
              scheme,
              item.runId,
              { key: item.key, payload: item.payload, fingerprint: item.fingerprint, cursor: item.cursor ?? undefined, ...(f.dead ? { dead: { code: f.code, message: f.message } } : {}) },
              f.dead ? 'dead' : 'pending',
              now,
              j,
              f.maybeWritten ?? false,
            );
            // a queue row made from a write that was attempted once
            this.stmts.attemptedOnce.run(scheme, item.key);
          }
          this.settle(scheme, j, f.id, item, f.maybeWritten ?? false, now);
          continue;
        }
        if (f.id < 0) continue;
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
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      let n = this.stmts.recover.run(now, scheme).changes;
      // Journal rows left behind: their items not delivered as they are go back to the queue. The latest
      // item of a key wins; a key that has a queue row keeps it (it is newer, or the item's own failure).
      const latest = new Map<string, { entry: JournalEntry; runId: string }>();
      for (const row of this.stmts.journalRows.all(scheme)) {
        for (const entry of JSON.parse(row.items) as JournalEntry[]) latest.set(entry[0], { entry, runId: row.run_id });
      }
      if (latest.size) {
        const delivered = this.delivered(scheme, [...latest.keys()]);
        for (const [key, { entry, runId }] of latest) {
          if (delivered.get(key)?.fingerprint === entry[2]) continue;
          const r = this.stmts.enqueueRecovered.run({
            scheme,
            key,
            payload: JSON.stringify(entry[1]),
            fingerprint: entry[2],
            cursor: entry[3],
            maybeWritten: 1,
            runId,
            now,
          });
          n += r.changes;
        }
        this.stmts.journalDelScheme.run(scheme);
      }
      // this process starts afresh on the scheme
      this.journals.delete(scheme);
      return n;
    })();
  }

  counts(scheme: string): Record<QueueStatus, number> {
    const out: Record<QueueStatus, number> = { pending: 0, 'in-flight': 0, done: 0, dead: 0 };
    for (const r of this.stmts.counts.all(scheme)) out[r.status] = r.n;
    // journal items not yet settled are in flight; done items are those delivered
    out['in-flight'] += this.stmts.journalCount.get({ scheme })?.n ?? 0;
    out.done = this.stmts.deliveredCount.get(scheme)?.n ?? 0;
    return out;
  }

  list(scheme: string, options: { status?: QueueStatus; limit?: number; offset?: number } = {}): QueueItem[] {
    const limit = options.limit ?? 100;
    const offset = options.offset ?? 0;
    const rows = options.status
      ? this.db
          .prepare<[string, string, number, number], QueueRow>('SELECT * FROM queue WHERE scheme = ? AND status = ? ORDER BY id LIMIT ? OFFSET ?')
          .all(scheme, options.status, limit + offset, 0)
      : this.db.prepare<[string, number, number], QueueRow>('SELECT * FROM queue WHERE scheme = ? ORDER BY id LIMIT ? OFFSET ?').all(scheme, limit + offset, 0);
    const items = rows.map(toItem);
    // the journal items of a run in progress (or of one killed before a rerun recovered them) are in flight too
    if (!options.status || options.status === 'in-flight') {
      for (const r of this.stmts.journalItems.all({ scheme, limit: limit + offset, offset: 0 })) items.push(journalItem(r));
    }
    return items.slice(offset, offset + limit);
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
  if (current === SCHEMA_VERSION) return;
  // every step in one transaction: a new state directory is made in one commit, and an upgrade is all or nothing
  db.transaction(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(migrations[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** A journal item as a queue item: in flight, first attempt; its id (negative) names its row and place. */
function journalItem(r: JournalItemRow): QueueItem {
  const payload = JSON.parse(r.payload) as TargetPayload;
  return claimedItem(-(r.jid * 1_000_000 + r.idx + 1), { key: r.key, payload, fingerprint: r.fingerprint, cursor: r.cursor }, r.run_id, r.created_at);
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
