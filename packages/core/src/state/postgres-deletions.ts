import type { Pool, QueryResultRow } from 'pg';
import type { Deletion, DeletionStatus, DeletionUpdate } from '../contracts/state-store.js';
import { inTransaction } from './postgres-queue.js';

interface DeletionRow extends QueryResultRow {
  key: string;
  name: string | null;
  deleted_at: string | null;
  status: DeletionStatus;
  target_id: string | null;
  message: string | null;
  source: Record<string, unknown> | null;
  run_id: string;
  seen_at: Date;
  updated_at: Date;
}

const COLUMNS = 'key, name, deleted_at, status, target_id, message, source, run_id, seen_at, updated_at';

/**
 * The `deletions` table of a PostgreSQL state: records deleted in the source, one row per scheme and
 * key until the record comes back (see `DeletionLog`; the SQLite twin is sqlite-deletions.ts). A
 * field an update leaves out keeps its stored value.
 */
export class PgDeletions {
  constructor(private readonly pool: Pool) {}

  async deletionsOf(scheme: string, keys: string[]): Promise<Map<string, Deletion>> {
    const out = new Map<string, Deletion>();
    if (keys.length === 0) return out;
    const r = await this.pool.query<DeletionRow>(`SELECT ${COLUMNS} FROM deletions WHERE scheme = $1 AND key = ANY($2::text[])`, [scheme, keys]);
    for (const row of r.rows) out.set(row.key, toDeletion(row));
    return out;
  }

  async saveDeletions(scheme: string, runId: string, rows: DeletionUpdate[]): Promise<void> {
    if (rows.length === 0) return;
    const now = new Date();
    // a statement per row (deletions come a few at a time): a field left out keeps its stored value
    await inTransaction(this.pool, async (c) => {
      for (const r of rows) {
        await c.query(
          `INSERT INTO deletions (scheme, key, name, deleted_at, status, target_id, message, source, run_id, seen_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9, $10, $10)
           ON CONFLICT (scheme, key) DO UPDATE SET
             status = excluded.status, updated_at = excluded.updated_at,
             name = CASE WHEN $11 THEN excluded.name ELSE deletions.name END,
             deleted_at = CASE WHEN $12 THEN excluded.deleted_at ELSE deletions.deleted_at END,
             target_id = CASE WHEN $13 THEN excluded.target_id ELSE deletions.target_id END,
             message = CASE WHEN $14 THEN excluded.message ELSE deletions.message END,
             source = CASE WHEN $15 THEN excluded.source ELSE deletions.source END`,
          [
            scheme,
            r.key,
            r.name ?? null,
            r.deletedAt ?? null,
            r.status,
            r.targetId ?? null,
            r.message ?? null,
            r.source === undefined || r.source === null ? null : JSON.stringify(r.source),
            runId,
            now,
            r.name !== undefined,
            r.deletedAt !== undefined,
            r.targetId !== undefined,
            r.message !== undefined,
            r.source !== undefined,
          ],
        );
      }
    });
  }

  async dropDeletions(scheme: string, keys: string[]): Promise<void> {
    if (keys.length) await this.pool.query('DELETE FROM deletions WHERE scheme = $1 AND key = ANY($2::text[])', [scheme, keys]);
  }

  async listDeletions(scheme: string, options: { status?: DeletionStatus[]; limit?: number } = {}): Promise<Deletion[]> {
    const statuses = options.status?.length ? options.status : null;
    const r = await this.pool.query<DeletionRow>(
      `SELECT ${COLUMNS} FROM deletions WHERE scheme = $1 AND ($2::text[] IS NULL OR status = ANY($2::text[])) ORDER BY seen_at DESC, seq DESC LIMIT $3`,
      [scheme, statuses, options.limit ?? 100],
    );
    return r.rows.map(toDeletion);
  }

  async deletionCounts(scheme: string): Promise<Partial<Record<DeletionStatus, number>>> {
    const r = await this.pool.query<{ status: DeletionStatus; n: number }>('SELECT status, COUNT(*)::int AS n FROM deletions WHERE scheme = $1 GROUP BY status', [scheme]);
    const out: Partial<Record<DeletionStatus, number>> = {};
    for (const row of r.rows) out[row.status] = row.n;
    return out;
  }
}

function toDeletion(r: DeletionRow): Deletion {
  return {
    key: r.key,
    name: r.name,
    deletedAt: r.deleted_at,
    status: r.status,
    targetId: r.target_id,
    message: r.message,
    source: r.source,
    runId: r.run_id,
    seenAt: r.seen_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
