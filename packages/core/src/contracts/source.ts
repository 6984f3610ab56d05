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
}

/**
 * The request dispatcher (请求调度者): reads pages of records from a system.
 * Paging, detail calls and cursors live here. Sources stream: memory must not grow with the number of records.
 */
export interface Source {
  /** The stream's records, each complete and in the shape of the manifest's `record` schema. */
  read(ctx: ReadContext): AsyncIterable<SourceRecord>;
}


/** The DI token a connector registers the source of stream `id` under. */
export function sourceToken(streamId: string): InjectionToken<Source> {
  return `qiao.source:${streamId}`;
}
