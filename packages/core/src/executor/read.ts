import type { Logger } from '../contracts/logger.js';
import type { Source, SourceRecord } from '../contracts/source.js';

export interface ReadStage {
  source: Source;
  /** Stream params, validated, defaults applied. */
  params: Record<string, unknown>;
  /** Make the per-record detail call. */
  detail: boolean;
  /** Where to read from (see `startCursor`); undefined reads everything. */
  cursor: string | undefined;
  lookbackMs: number;
  /** Read at most this many records. */
  limit?: number | undefined;
  signal: AbortSignal;
  logger: Logger;
  onTotal?: ((total: number) => void) | undefined;
  /** What the source says about a read that may not match the system; never stops the read. */
  onWarning?: ((code: string, message: string) => void) | undefined;
}

/** What a read gives the checkpoint. */
export interface ReadOutcome {
  /** The largest cursor read (or the one the read started from). */
  maxCursor: string | undefined;
  /** The source was read to its end: not stopped, not cut short by `limit`. */
  complete: boolean;
  /**
   * The cursor the source says the next incremental read may start from (`ReadContext.checkpoint`),
   * when it said one: the end of its window by the system's clock, not the newest record it read.
   */
  checkpoint?: string | undefined;
}

/**
 * The read stage: streams the source's records, one at a time, to `each` (which may make the read
 * wait, for back-pressure). Stops at `limit` or when the signal aborts. A source error is thrown.
 */
export async function readRecords(o: ReadStage, each: (rec: SourceRecord) => Promise<void>): Promise<ReadOutcome> {
  let maxCursor = o.cursor;
  let n = 0;
  let said: string | undefined;
  for await (const rec of o.source.read({
    params: o.params,
    detail: o.detail,
    cursor: o.cursor,
    lookbackMs: o.lookbackMs,
    limit: o.limit,
    signal: o.signal,
    logger: o.logger,
    ...(o.onTotal ? { onTotal: o.onTotal } : {}),
    ...(o.onWarning ? { warn: o.onWarning } : {}),
    checkpoint: (cursor: string) => {
      said = cursor;
    },
  })) {
    if (o.signal.aborted) break;
    n++;
    if (rec.cursor !== undefined && (maxCursor === undefined || rec.cursor > maxCursor)) maxCursor = rec.cursor;
    await each(rec);
    if (o.limit !== undefined && n >= o.limit) break;
  }
  return { maxCursor, complete: !o.signal.aborted && (o.limit === undefined || n < o.limit), checkpoint: said };
}
