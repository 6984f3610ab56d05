import type Database from 'better-sqlite3';
import type { Delivered, HolderQuery } from '../contracts/state-store.js';
import { toDelivered, type DeliveredRow } from './sqlite-queue.js';

/**
 * Who holds a code or a target id in the id map of a SQLite state database (`delivered`, see
 * sqlite-queue.ts): the rows the write pool checks before a write, so that two source records never
 * share one target record. Indexed on (scheme, business_key), (scheme, target_code), (scheme, target_id).
 */
export class SqliteIdMap {
  private readonly byCode;
  private readonly byTargetId;

  constructor(db: Database.Database) {
    const columns = 'key, fingerprint, target_id, target_code, business_key, fields';
    this.byCode = db.prepare<[string, string, string, string], DeliveredRow>(
      `SELECT ${columns} FROM delivered WHERE scheme = ? AND business_key IN (SELECT value FROM json_each(?))
       UNION SELECT ${columns} FROM delivered WHERE scheme = ? AND target_code IN (SELECT value FROM json_each(?))`,
    );
    this.byTargetId = db.prepare<[string, string], DeliveredRow>(
      `SELECT ${columns} FROM delivered WHERE scheme = ? AND target_id IN (SELECT value FROM json_each(?))`,
    );
  }

  holders(scheme: string, query: HolderQuery): Delivered[] {
    const out = new Map<string, Delivered>();
    const codes = JSON.stringify(query.codes ?? []);
    if (query.codes?.length) for (const r of this.byCode.all(scheme, codes, scheme, codes)) out.set(r.key, toDelivered(r));
    if (query.targetIds?.length) for (const r of this.byTargetId.all(scheme, JSON.stringify(query.targetIds))) out.set(r.key, toDelivered(r));
    return [...out.values()];
  }
}
