import type Database from 'better-sqlite3';
import type { QueueItem } from '../contracts/state-store.js';
import type { TargetPayload } from '../contracts/target.js';

/** One item of a journal row: key, mapped payload, fingerprint, cursor. */
type JournalEntry = [key: string, payload: TargetPayload, fingerprint: string, cursor: string | null];

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

/**
 * Journal items still in flight (bound: @scheme): not delivered as they are, and without a queue row
 * of their key (a failed item had become one, as had newer content waiting for it).
 */
const IN_FLIGHT = `FROM journal AS j, json_each(j.items) AS e
  WHERE j.scheme = @scheme
    AND NOT EXISTS (SELECT 1 FROM delivered AS d WHERE d.scheme = @scheme AND d.key = e.value ->> 0 AND d.fingerprint = e.value ->> 2)
    AND NOT EXISTS (SELECT 1 FROM queue AS q WHERE q.scheme = @scheme AND q.key = e.value ->> 0)`;

/**
 * The write journal of schema v3, read only. An older qiao handed items straight to its writers and
 * kept one journal row per enqueued batch instead of a queue row per item; an item was done once its
 * delivery was recorded, and the row went once all its items were settled. qiao now enqueues, then
 * claims, so it writes no journal rows; but a state directory an older qiao was killed in may hold
 * some. Until a run recovers them they count and list as in flight; {@link SqliteJournal.recover} turns them into
 * queue rows.
 */
export class SqliteJournal {
  private readonly countStmt;
  private readonly itemsStmt;
  private readonly rowsStmt;
  private readonly deleteStmt;
  private readonly enqueueStmt;

  constructor(db: Database.Database) {
    this.countStmt = db.prepare<[{ scheme: string }], { n: number }>(`SELECT COUNT(*) AS n ${IN_FLIGHT}`);
    this.itemsStmt = db.prepare<[{ scheme: string; limit: number; offset: number }], JournalItemRow>(
      `SELECT j.id AS jid, CAST(e.key AS INTEGER) AS idx, j.run_id, j.created_at, e.value ->> 0 AS key, e.value -> 1 AS payload,
              e.value ->> 2 AS fingerprint, e.value ->> 3 AS cursor
       ${IN_FLIGHT} ORDER BY j.id, idx LIMIT @limit OFFSET @offset`,
    );
    this.rowsStmt = db.prepare<[string], { id: number; run_id: string; items: string }>('SELECT id, run_id, items FROM journal WHERE scheme = ? ORDER BY id');
    this.deleteStmt = db.prepare('DELETE FROM journal WHERE scheme = ?');
    // a journal item back into the queue, unless the key has a queue row (which is newer, or its own failure)
    this.enqueueStmt = db.prepare(
      `INSERT INTO queue (scheme, key, payload, fingerprint, cursor, status, attempts, maybe_written, run_id, created_at, updated_at)
       VALUES (@scheme, @key, @payload, @fingerprint, @cursor, 'pending', 1, 1, @runId, @now, @now)
       ON CONFLICT (scheme, key) DO NOTHING`,
    );
  }

  /** How many journal items are in flight. */
  count(scheme: string): number {
    return this.countStmt.get({ scheme })?.n ?? 0;
  }

  /** The first `limit` journal items in flight, as in-flight queue items with negative ids. */
  items(scheme: string, limit: number): QueueItem[] {
    return this.itemsStmt.all({ scheme, limit, offset: 0 }).map(toQueueItem);
  }

  /**
   * Turns the journal rows of a dead process into queue rows: pending, attempted once, flagged
   * maybe-written. The latest item of a key wins; items delivered as they are are dropped. Returns how
   * many queue rows it made. Call inside the transaction of `recoverInFlight`.
   */
  recover(scheme: string, deliveredFingerprint: (keys: string[]) => Map<string, string>, now: string): number {
    const latest = new Map<string, { entry: JournalEntry; runId: string }>();
    for (const row of this.rowsStmt.all(scheme)) {
      for (const entry of JSON.parse(row.items) as JournalEntry[]) latest.set(entry[0], { entry, runId: row.run_id });
    }
    if (latest.size === 0) return 0;
    const delivered = deliveredFingerprint([...latest.keys()]);
    let n = 0;
    for (const [key, { entry, runId }] of latest) {
      if (delivered.get(key) === entry[2]) continue;
      n += this.enqueueStmt.run({ scheme, key, payload: JSON.stringify(entry[1]), fingerprint: entry[2], cursor: entry[3], runId, now }).changes;
    }
    this.deleteStmt.run(scheme);
    return n;
  }
}

/** A journal item as a queue item: in flight, first attempt; its id (negative) names its row and place. */
function toQueueItem(r: JournalItemRow): QueueItem {
  return {
    id: -(r.jid * 1_000_000 + r.idx + 1),
    key: r.key,
    payload: JSON.parse(r.payload) as TargetPayload,
    source: null,
    fingerprint: r.fingerprint,
    cursor: r.cursor,
    status: 'in-flight',
    attempts: 1,
    maybeWritten: false,
    lastErrorCode: null,
    lastErrorMessage: null,
    runId: r.run_id,
    createdAt: r.created_at,
    updatedAt: r.created_at,
  };
}
