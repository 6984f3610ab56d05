import type Database from 'better-sqlite3';
import type { Deletion, DeletionStatus, DeletionUpdate } from '../contracts/state-store.js';

interface DeletionRow {
  key: string;
  name: string | null;
  deleted_at: string | null;
  status: DeletionStatus;
  target_id: string | null;
  message: string | null;
  source: string | null;
  run_id: string;
  seen_at: string;
  updated_at: string;
}

/**
 * The `deletions` table of a SQLite state database (schema v6): records deleted in the source, one row
 * per scheme and key until the record comes back (see `DeletionLog`). Each method is one transaction.
 */
export class SqliteDeletions {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      of: db.prepare<[string, string], DeletionRow>('SELECT * FROM deletions WHERE scheme = ? AND key IN (SELECT value FROM json_each(?))'),
      save: db.prepare(
        `INSERT INTO deletions (scheme, key, name, deleted_at, status, target_id, message, source, run_id, seen_at, updated_at)
         VALUES (@scheme, @key, @name, @deletedAt, @status, @targetId, @message, @source, @runId, @now, @now)
         ON CONFLICT (scheme, key) DO UPDATE SET
           status = excluded.status, updated_at = excluded.updated_at,
           name = CASE WHEN @hasName THEN excluded.name ELSE deletions.name END,
           deleted_at = CASE WHEN @hasDeletedAt THEN excluded.deleted_at ELSE deletions.deleted_at END,
           target_id = CASE WHEN @hasTargetId THEN excluded.target_id ELSE deletions.target_id END,
           message = CASE WHEN @hasMessage THEN excluded.message ELSE deletions.message END,
           source = CASE WHEN @hasSource THEN excluded.source ELSE deletions.source END`,
      ),
      drop: db.prepare('DELETE FROM deletions WHERE scheme = ? AND key IN (SELECT value FROM json_each(?))'),
      list: db.prepare<{ scheme: string; statuses: string; limit: number }, DeletionRow>(
        `SELECT * FROM deletions WHERE scheme = @scheme AND (@statuses = '[]' OR status IN (SELECT value FROM json_each(@statuses)))
         ORDER BY seen_at DESC, rowid DESC LIMIT @limit`,
      ),
      counts: db.prepare<[string], { status: DeletionStatus; n: number }>('SELECT status, COUNT(*) AS n FROM deletions WHERE scheme = ? GROUP BY status'),
    };
  }

  deletionsOf(scheme: string, keys: string[]): Map<string, Deletion> {
    const out = new Map<string, Deletion>();
    if (keys.length === 0) return out;
    for (const r of this.stmts.of.all(scheme, JSON.stringify(keys))) out.set(r.key, toDeletion(r));
    return out;
  }

  saveDeletions(scheme: string, runId: string, rows: DeletionUpdate[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const r of rows) {
        this.stmts.save.run({
          scheme,
          key: r.key,
          name: r.name ?? null,
          deletedAt: r.deletedAt ?? null,
          status: r.status,
          targetId: r.targetId ?? null,
          message: r.message ?? null,
          source: r.source === undefined || r.source === null ? null : JSON.stringify(r.source),
          runId,
          now,
          hasName: r.name !== undefined ? 1 : 0,
          hasDeletedAt: r.deletedAt !== undefined ? 1 : 0,
          hasTargetId: r.targetId !== undefined ? 1 : 0,
          hasMessage: r.message !== undefined ? 1 : 0,
          hasSource: r.source !== undefined ? 1 : 0,
        });
      }
    })();
  }

  dropDeletions(scheme: string, keys: string[]): void {
    if (keys.length) this.stmts.drop.run(scheme, JSON.stringify(keys));
  }

  listDeletions(scheme: string, options: { status?: DeletionStatus[]; limit?: number } = {}): Deletion[] {
    return this.stmts.list.all({ scheme, statuses: JSON.stringify(options.status ?? []), limit: options.limit ?? 100 }).map(toDeletion);
  }

  deletionCounts(scheme: string): Partial<Record<DeletionStatus, number>> {
    const out: Partial<Record<DeletionStatus, number>> = {};
    for (const r of this.stmts.counts.all(scheme)) out[r.status] = r.n;
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
    source: r.source === null ? null : (JSON.parse(r.source) as Record<string, unknown>),
    runId: r.run_id,
    seenAt: r.seen_at,
    updatedAt: r.updated_at,
  };
}
