import type Database from 'better-sqlite3';
import type { Completion, Delivered, EnqueueItem, ErrorGroup, Failure, ListOptions, QueueItem, QueueStatus } from '../contracts/state-store.js';
import { SqliteJournal } from './sqlite-journal.js';

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

/** One completion as a row of a JSON batch: id, key, fingerprint, target id, target code, business key, fields. */
type CompletionRow = [id: number, key: string, fingerprint: string, targetId: string | null, targetCode: string | null, businessKey: string | null, fields: string | null];

/** A row of the id map. */
export interface DeliveredRow {
  key: string;
  fingerprint: string;
  target_id: string | null;
  target_code: string | null;
  business_key: string | null;
  fields: string | null;
}

export function toDelivered(row: DeliveredRow): Delivered {
  return {
    key: row.key,
    fingerprint: row.fingerprint,
    targetId: row.target_id,
    targetCode: row.target_code,
    businessKey: row.business_key,
    fields: row.fields === null ? null : (JSON.parse(row.fields) as string[]),
  };
}

/**
 * The write queue and the id map of a SQLite state database. A queue row per key waiting to be
 * written (pending), being written (in flight) or given up on (dead); a row in `delivered` per key
 * written, with its fingerprint and target id. A done item leaves the queue: its delivery is the record
 * that it is done. Each method is one transaction; the store composes them (see sqlite.store.ts).
 */
export class SqliteQueue {
  private readonly journal: SqliteJournal;
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.journal = new SqliteJournal(db);
    this.stmts = {
      delivered: db.prepare<[string, string], DeliveredRow>(
        'SELECT key, fingerprint, target_id, target_code, business_key, fields FROM delivered WHERE scheme = ? AND key IN (SELECT value FROM json_each(?))',
      ),
      enqueue: db.prepare(
        `INSERT INTO queue (scheme, key, payload, source, fingerprint, cursor, status, attempts, last_error_code, last_error_message, maybe_written, run_id, created_at, updated_at)
         VALUES (@scheme, @key, @payload, @source, @fingerprint, @cursor, @status, 0, @code, @message, 0, @runId, @now, @now)
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
      // Completions come as one JSON array [[id, key, fp, tid]] per batch: a few statements, not a few per
      // item. A done item leaves the queue; one read again while in flight (new fingerprint) is pending again.
      deliver: db.prepare(
        `INSERT INTO delivered (scheme, key, fingerprint, target_id, target_code, business_key, fields, delivered_at)
         SELECT @scheme, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, @now FROM json_each(@batch) WHERE true
         ON CONFLICT (scheme, key) DO UPDATE SET fingerprint = excluded.fingerprint,
           target_id = COALESCE(excluded.target_id, delivered.target_id),
           target_code = COALESCE(excluded.target_code, delivered.target_code),
           business_key = COALESCE(excluded.business_key, delivered.business_key),
           fields = COALESCE(excluded.fields, delivered.fields), delivered_at = excluded.delivered_at`,
      ),
      completeDone: db.prepare(
        `DELETE FROM queue WHERE id IN (
           SELECT q.id FROM json_each(?) AS c JOIN queue AS q ON q.id = c.value ->> 0 AND q.fingerprint = c.value ->> 2)`,
      ),
      completeAgain: db.prepare(
        `UPDATE queue SET status = 'pending', maybe_written = 0, last_error_code = NULL, last_error_message = NULL, updated_at = @now
         WHERE id IN (SELECT value ->> 0 FROM json_each(@batch))`,
      ),
      fail: db.prepare(
        `UPDATE queue SET status = @status, last_error_code = @code, last_error_message = @message,
           maybe_written = CASE WHEN @maybeWritten THEN 1 ELSE maybe_written END, updated_at = @now WHERE id = @id`,
      ),
      recover: db.prepare(`UPDATE queue SET status = 'pending', maybe_written = 1, updated_at = ? WHERE scheme = ? AND status = 'in-flight'`),
      counts: db.prepare<[string], { status: QueueStatus; n: number }>('SELECT status, COUNT(*) AS n FROM queue WHERE scheme = ? GROUP BY status'),
      deliveredCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM delivered WHERE scheme = ?'),
      list: db.prepare<[string, number], QueueRow>('SELECT * FROM queue WHERE scheme = ? ORDER BY id LIMIT ?'),
      listStatus: db.prepare<[string, string, number], QueueRow>('SELECT * FROM queue WHERE scheme = ? AND status = ? ORDER BY id LIMIT ?'),
      requeueAll: db.prepare(`UPDATE queue SET status = 'pending', attempts = 0, updated_at = ? WHERE scheme = ? AND status = 'dead'`),
      requeueOne: db.prepare(`UPDATE queue SET status = 'pending', attempts = 0, updated_at = ? WHERE scheme = ? AND status = 'dead' AND id = ?`),
      deadGroups: db.prepare<[string], { code: string; message: string; n: number }>(
        `SELECT COALESCE(last_error_code, 'unknown') AS code, MAX(last_error_message) AS message, COUNT(*) AS n
         FROM queue WHERE scheme = ? AND status = 'dead' GROUP BY code ORDER BY n DESC`,
      ),
    };
  }

  delivered(scheme: string, keys: string[]): Map<string, Delivered> {
    const out = new Map<string, Delivered>();
    if (keys.length === 0) return out;
    for (const row of this.stmts.delivered.all(scheme, JSON.stringify(keys))) {
      out.set(row.key, toDelivered(row));
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
    return this.db.transaction(() => {
      const items = this.stmts.claim.all(new Date().toISOString(), scheme, limit).map(toItem);
      // The id map of the whole batch in one query, rather than a lookup per row.
      const known = this.delivered(scheme, items.map((i) => i.key));
      for (const item of items) {
        const d = known.get(item.key);
        item.knownId = d?.targetId ?? null;
        item.knownCode = d?.targetCode ?? null;
        item.knownFields = d?.fields ?? null;
      }
      return items.sort((a, b) => a.id - b.id);
    })();
  }

  complete(scheme: string, completions: Completion[]): void {
    if (completions.length === 0) return;
    const batch = JSON.stringify(
      completions.map((c): CompletionRow => [
        c.id,
        c.key,
        c.fingerprint,
        c.targetId ?? null,
        c.targetCode ?? null,
        c.businessKey ?? null,
        c.fields ? JSON.stringify(c.fields) : null,
      ]),
    );
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.stmts.deliver.run({ scheme, batch, now });
      this.stmts.completeDone.run(batch);
      this.stmts.completeAgain.run({ batch, now });
    })();
  }

  fail(failures: Failure[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const f of failures) {
        this.stmts.fail.run({ id: f.id, status: f.dead ? 'dead' : 'pending', code: f.code, message: f.message, maybeWritten: f.maybeWritten ? 1 : 0, now });
      }
    })();
  }

  recoverInFlight(scheme: string): number {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      const n = this.stmts.recover.run(now, scheme).changes;
      const fingerprints = (keys: string[]) => new Map([...this.delivered(scheme, keys)].map(([k, d]) => [k, d.fingerprint]));
      return n + this.journal.recover(scheme, fingerprints, now);
    })();
  }

  counts(scheme: string): Record<QueueStatus, number> {
    return this.db.transaction(() => {
      const out: Record<QueueStatus, number> = { pending: 0, 'in-flight': 0, done: 0, dead: 0 };
      for (const r of this.stmts.counts.all(scheme)) out[r.status] = r.n;
      out['in-flight'] += this.journal.count(scheme);
      out.done = this.stmts.deliveredCount.get(scheme)?.n ?? 0;
      return out;
    })();
  }

  list(scheme: string, options: ListOptions = {}): QueueItem[] {
    const limit = options.limit ?? 100;
    const offset = options.offset ?? 0;
    return this.db.transaction(() => {
      const rows = options.status ? this.stmts.listStatus.all(scheme, options.status, limit + offset) : this.stmts.list.all(scheme, limit + offset);
      const items = rows.map(toItem);
      // journal rows an older qiao left (see sqlite-journal.ts) are in flight too
      if (!options.status || options.status === 'in-flight') items.push(...this.journal.items(scheme, limit + offset));
      return items.slice(offset, offset + limit);
    })();
  }

  requeueDead(scheme: string, ids?: number[]): number {
    const now = new Date().toISOString();
    if (!ids) return this.stmts.requeueAll.run(now, scheme).changes;
    return this.db.transaction(() => ids.reduce((n, id) => n + this.stmts.requeueOne.run(now, scheme, id).changes, 0))();
  }

  deadGroups(scheme: string): ErrorGroup[] {
    return this.stmts.deadGroups.all(scheme).map((r) => ({ code: r.code, message: r.message, count: r.n }));
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
