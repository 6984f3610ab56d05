import type { InjectionToken } from 'tsyringe';
import type { Logger } from './logger.js';

/** One record read from a source stream. */
export interface SourceRecord<T extends Record<string, unknown> = Record<string, unknown>> {
  /** Stream id from the manifest (`company`). */
  stream: string;
  /** Primary key, always a string (ids arrive as numbers or strings; sources normalise them). */
  key: string;
  /** Value of the stream's cursor field (e.g. `update_time`), when the stream has one. */
  cursor?: string;
  /** The record as read (list row merged with its detail, when the detail call is on). */
  data: T;
  /**
   * Set when the source read the key but has nothing to deliver for it, e.g. the customer was deleted
   * between the list and the detail call. Counted as skipped with this reason; never a failure.
   */
  skip?: { reason: string; message: string };
}

export interface ReadContext {
  /** Stream params, validated against the manifest's params schema, defaults applied. */
  params: Record<string, unknown>;
  /** Make the per-record detail call (the platform's info_api / info_key). */
  detail: boolean;
  /** The last checkpointed cursor; absent on a first or `--full` read. */
  cursor?: string | undefined;
  /** How far before the cursor an incremental read starts, in milliseconds. @default 0 */
  lookbackMs: number;
  /** Stop reading soon after this many records (`--limit`). */
  limit?: number | undefined;
  signal: AbortSignal;
  logger: Logger;
  /** Sources call this once they know how many records the read will yield (for progress and ETA). */
  onTotal?: (total: number) => void;
  /**
   * Tells the run something its report must show: the read finished, but may not be what the system
   * holds (rows still moving after the last list pass, fewer rows listed than the system counts, …).
   * A warning never stops the read. Without it, sources log the message at `warn` level.
   * @param code stable and dotted, e.g. `read.unsettled` or `read.total_mismatch`
   * @param message for people: what differed, by how much, and what to do
   * @example ctx.warn?.('read.total_mismatch', '小满 OKKI company/list: listed 480 rows, totalItem 500 …')
   */
  warn?: (code: string, message: string) => void;
  /**
   * The cursor the next incremental read may start from (before the look-back is taken off), once this
   * read completes and everything it yielded is delivered. A source that knows the end of the window
   * it read (e.g. the system's clock when the read began) calls it, at most once, after its last
   * record; it does not call it when the read stops early, fails, or is cut by `limit`. The run stores
   * it rather than the largest cursor read: records changed during the read carry cursors past the
   * window, and a cursor taken from them would jump over changes made to records read earlier.
   * When a source never calls it, the run falls back to the largest cursor read.
   * @example ctx.checkpoint?.('2026-01-21 16:02:22') // OKKI's `now` when the read began
   */
  checkpoint?: (cursor: string) => void;
}

/** A record the system lists as deleted (OKKI: `company/list` with `removed=1`). */
export interface DeletedRecord {
  /** Stream id from the manifest (`company`). */
  stream: string;
  /** Primary key of the deleted record, as {@link SourceRecord.key} gave it while it was live. */
  key: string;
  /**
   * When it was deleted, in the stream's cursor format, as far as the system tells (OKKI: the deleted
   * row's `update_time`, which its deletion sets).
   */
  deletedAt?: string | undefined;
  /** What the deleted list still shows of it (OKKI: the list row: name, serial_id, …). */
  data: Record<string, unknown>;
}

/**
 * The request dispatcher (请求调度者): reads pages of records from a system.
 * Paging, detail calls and cursors live here. Sources stream: memory must not grow with the number of records.
 */
export interface Source {
  /** The stream's records, each complete and in the shape of the manifest's `record` schema. */
  read(ctx: ReadContext): AsyncIterable<SourceRecord>;
  /**
   * Optional (declared by the stream manifest's `deletions`): the records deleted in the system
   * within the window `read` covers for the same context — from `ctx.cursor` minus `ctx.lookbackMs`
   * (everything on a first or `--full` read) to the system's clock. The run calls it after `read`
   * finished and its writes were delivered, with the same context; deletions the next window
   * overlaps are listed again, so whatever acts on them must be idempotent. It never calls
   * `ctx.checkpoint`: the cursor stays `read`'s. A record deleted and then restored is not listed.
   * @example for await (const d of source.readDeleted(ctx)) console.log(d.key, d.deletedAt)
   */
  readDeleted?(ctx: ReadContext): AsyncIterable<DeletedRecord>;
}


/** The DI token a connector registers the source of stream `id` under. */
export function sourceToken(streamId: string): InjectionToken<Source> {
  return `qiao.source:${streamId}`;
}
