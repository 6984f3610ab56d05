import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { Completion, Delivered, EnqueueItem, ErrorGroup, Failure, HolderQuery, ListOptions, QueueItem, QueueStatus } from '../contracts/state-store.js';

/** What runs a statement: the pool, or the client of a transaction. */
export type PgExec = Pick<Pool | PoolClient, 'query'>;

/** Ignores a connection's 'error' event: the query under way rejects with it, and that is what is reported. */
const ignore = () => undefined;

/**
 * Runs `fn` with one client of the pool. A client checked out emits 'error' when the server drops its
 * connection (restart, network); unheard, that event would end the process, so it is listened to while
 * `fn` runs. A client that failed goes back to the pool as broken, and the pool makes a new one.
 */
export async function withClient<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  client.on('error', ignore);
  let failed: Error | undefined;
  try {
    return await fn(client);
  } catch (e) {
    failed = e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    client.off('error', ignore);
    client.release(failed);
  }
}

/** Runs `fn` in one transaction on one client of the pool. */
export async function inTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

interface QueueRow extends QueryResultRow {
  id: string;
  key: string;
  payload: QueueItem['payload'];
  source: QueueItem['source'];
  fingerprint: string;
  cursor: string | null;
  status: QueueStatus;
  attempts: number;
  maybe_written: boolean;
  last_error_code: string | null;
  last_error_message: string | null;
  run_id: string;
  created_at: Date;
  updated_at: Date;
}

interface DeliveredRow extends QueryResultRow {
  key: string;
  fingerprint: string;
  target_id: string | null;
  target_code: string | null;
  business_key: string | null;
  fields: string[] | null;
}

const DELIVERED_COLUMNS = 'key, fingerprint, target_id, target_code, business_key, fields';

/**
 * The write queue and the id map of a PostgreSQL state, with the semantics of the SQLite store's
 * (sqlite-queue.ts, sqlite-id-map.ts): a `queue` row per key waiting (pending), being written (in
 * flight) or given up on (dead); a `delivered` row per key written. A done item leaves the queue. Each
 * method is one statement or one transaction; batches go as arrays (`unnest`), a few statements per
 * batch rather than a few per item. Payloads are `json` (kept as written: key order, big numbers).
 */
export class PgQueue {
  constructor(private readonly pool: Pool) {}

  async delivered(scheme: string, keys: string[], db: PgExec = this.pool): Promise<Map<string, Delivered>> {
    const out = new Map<string, Delivered>();
    if (keys.length === 0) return out;
    const r = await db.query<DeliveredRow>(`SELECT ${DELIVERED_COLUMNS} FROM delivered WHERE scheme = $1 AND key = ANY($2::text[])`, [scheme, keys]);
    for (const row of r.rows) out.set(row.key, toDelivered(row));
    return out;
  }

  async holders(scheme: string, query: HolderQuery): Promise<Delivered[]> {
    const codes = query.codes ?? [];
    const ids = query.targetIds ?? [];
    if (codes.length === 0 && ids.length === 0) return [];
    const r = await this.pool.query<DeliveredRow>(
      `SELECT ${DELIVERED_COLUMNS} FROM delivered
       WHERE scheme = $1 AND (business_key = ANY($2::text[]) OR target_code = ANY($2::text[]) OR target_id = ANY($3::text[]))
       ORDER BY key`,
      [scheme, codes, ids],
    );
    return r.rows.map(toDelivered);
  }

  async enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void> {
    if (items.length === 0) return;
    // one row per key: the later content wins, at the place of the first (ON CONFLICT may not touch a row twice)
    const byKey = new Map<string, EnqueueItem>();
    for (const it of items) byKey.set(it.key, it);
    const rows = [...byKey.values()];
    await this.pool.query(
      `INSERT INTO queue (scheme, key, payload, source, fingerprint, cursor, status, attempts, last_error_code, last_error_message, maybe_written, run_id, created_at, updated_at)
       SELECT $1, i.key, i.payload::json, i.source::json, i.fingerprint, i.cursor, i.status, 0, i.code, i.message, false, $2, $3, $3
       FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY
         AS i(key, payload, source, fingerprint, cursor, status, code, message, n)
       ORDER BY i.n
       ON CONFLICT (scheme, key) DO UPDATE SET
         payload = excluded.payload, source = excluded.source, cursor = excluded.cursor, run_id = excluded.run_id, updated_at = excluded.updated_at,
         last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
         -- an item in flight keeps its status: its completion sees the new fingerprint and re-queues it
         status = CASE WHEN queue.status = 'in-flight' THEN 'in-flight' ELSE excluded.status END,
         attempts = CASE WHEN queue.status = 'in-flight' THEN queue.attempts ELSE 0 END,
         fingerprint = excluded.fingerprint`,
      [
        scheme,
        runId,
        new Date(),
        rows.map((i) => i.key),
        rows.map((i) => (i.payload === null ? null : JSON.stringify(i.payload))),
        rows.map((i) => (i.source ? JSON.stringify(i.source) : null)),
        rows.map((i) => i.fingerprint),
        rows.map((i) => i.cursor ?? null),
        rows.map((i) => (i.dead ? 'dead' : 'pending')),
        rows.map((i) => i.dead?.code ?? null),
        rows.map((i) => i.dead?.message ?? null),
      ],
    );
  }

  async claim(scheme: string, limit: number): Promise<QueueItem[]> {
    return inTransaction(this.pool, async (c) => {
      // SKIP LOCKED: a second claimer (another worker) takes other rows instead of waiting for these
      const r = await c.query<QueueRow>(
        `UPDATE queue SET status = 'in-flight', attempts = attempts + 1, updated_at = $1
         WHERE id IN (SELECT id FROM queue WHERE scheme = $2 AND status = 'pending' ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [new Date(), scheme, limit],
      );
      const items = r.rows.map(toItem);
      const known = await this.delivered(scheme, items.map((i) => i.key), c);
      for (const item of items) {
        const d = known.get(item.key);
        item.knownId = d?.targetId ?? null;
        item.knownCode = d?.targetCode ?? null;
        item.knownFields = d?.fields ?? null;
      }
      return items.sort((a, b) => a.id - b.id);
    });
  }

  async complete(scheme: string, completions: Completion[]): Promise<void> {
    if (completions.length === 0) return;
    const byKey = new Map<string, Completion>();
    for (const c of completions) byKey.set(c.key, c);
    const rows = [...byKey.values()];
    const ids = completions.map((c) => c.id);
    const now = new Date();
    await inTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO delivered (scheme, key, fingerprint, target_id, target_code, business_key, fields, delivered_at)
         SELECT $1, d.key, d.fingerprint, d.target_id, d.target_code, d.business_key, d.fields::json, $2
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS d(key, fingerprint, target_id, target_code, business_key, fields)
         ON CONFLICT (scheme, key) DO UPDATE SET fingerprint = excluded.fingerprint,
           target_id = COALESCE(excluded.target_id, delivered.target_id),
           target_code = COALESCE(excluded.target_code, delivered.target_code),
           business_key = COALESCE(excluded.business_key, delivered.business_key),
           fields = COALESCE(excluded.fields, delivered.fields), delivered_at = excluded.delivered_at`,
        [
          scheme,
          now,
          rows.map((d) => d.key),
          rows.map((d) => d.fingerprint),
          rows.map((d) => d.targetId ?? null),
          rows.map((d) => d.targetCode ?? null),
          rows.map((d) => d.businessKey ?? null),
          rows.map((d) => (d.fields ? JSON.stringify(d.fields) : null)),
        ],
      );
      // done: the queued content is what was written; read again while in flight: pending once more
      await c.query(
        `DELETE FROM queue AS q USING unnest($1::bigint[], $2::text[]) AS d(id, fingerprint) WHERE q.id = d.id AND q.fingerprint = d.fingerprint`,
        [ids, completions.map((d) => d.fingerprint)],
      );
      await c.query(
        `UPDATE queue SET status = 'pending', maybe_written = false, last_error_code = NULL, last_error_message = NULL, updated_at = $1 WHERE id = ANY($2::bigint[])`,
        [now, ids],
      );
    });
  }

  async fail(failures: Failure[]): Promise<void> {
    if (failures.length === 0) return;
    await this.pool.query(
      `UPDATE queue AS q SET status = f.status, last_error_code = f.code, last_error_message = f.message,
         maybe_written = q.maybe_written OR f.maybe_written, updated_at = $1
       FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS f(id, status, code, message, maybe_written)
       WHERE q.id = f.id`,
      [
        new Date(),
        failures.map((f) => f.id),
        failures.map((f) => (f.dead ? 'dead' : 'pending')),
        failures.map((f) => f.code),
        failures.map((f) => f.message),
        failures.map((f) => f.maybeWritten === true),
      ],
    );
  }

  async recoverInFlight(scheme: string): Promise<number> {
    const r = await this.pool.query(`UPDATE queue SET status = 'pending', maybe_written = true, updated_at = $1 WHERE scheme = $2 AND status = 'in-flight'`, [new Date(), scheme]);
    return r.rowCount ?? 0;
  }

  async counts(scheme: string): Promise<Record<QueueStatus, number>> {
    // one statement, one snapshot: a run going on in another process does not skew the sums
    const r = await this.pool.query<{ status: QueueStatus; n: number }>(
      `SELECT status, COUNT(*)::int AS n FROM queue WHERE scheme = $1 GROUP BY status
       UNION ALL SELECT 'done', COUNT(*)::int FROM delivered WHERE scheme = $1`,
      [scheme],
    );
    const out: Record<QueueStatus, number> = { pending: 0, 'in-flight': 0, done: 0, dead: 0 };
    for (const row of r.rows) out[row.status] = row.n;
    return out;
  }

  async list(scheme: string, options: ListOptions = {}): Promise<QueueItem[]> {
    const r = await this.pool.query<QueueRow>(
      `SELECT * FROM queue WHERE scheme = $1 AND ($2::text IS NULL OR status = $2) ORDER BY id LIMIT $3 OFFSET $4`,
      [scheme, options.status ?? null, options.limit ?? 100, options.offset ?? 0],
    );
    return r.rows.map(toItem);
  }

  async requeueDead(scheme: string, ids?: number[]): Promise<number> {
    const r = await this.pool.query(
      `UPDATE queue SET status = 'pending', attempts = 0, updated_at = $1 WHERE scheme = $2 AND status = 'dead' AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))`,
      [new Date(), scheme, ids ?? null],
    );
    return r.rowCount ?? 0;
  }

  async deadGroups(scheme: string): Promise<ErrorGroup[]> {
    const r = await this.pool.query<{ code: string; message: string; n: number }>(
      `SELECT COALESCE(last_error_code, 'unknown') AS code, MAX(last_error_message) AS message, COUNT(*)::int AS n
       FROM queue WHERE scheme = $1 AND status = 'dead' GROUP BY 1 ORDER BY n DESC, code`,
      [scheme],
    );
    return r.rows.map((row) => ({ code: row.code, message: row.message, count: row.n }));
  }
}

function toDelivered(row: DeliveredRow): Delivered {
  return {
    key: row.key,
    fingerprint: row.fingerprint,
    targetId: row.target_id,
    targetCode: row.target_code,
    businessKey: row.business_key,
    fields: row.fields,
  };
}

function toItem(r: QueueRow): QueueItem {
  return {
    id: Number(r.id),
    key: r.key,
    payload: r.payload,
    source: r.source,
    fingerprint: r.fingerprint,
    cursor: r.cursor,
    status: r.status,
    attempts: r.attempts,
    maybeWritten: r.maybe_written,
    lastErrorCode: r.last_error_code,
    lastErrorMessage: r.last_error_message,
    runId: r.run_id,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
