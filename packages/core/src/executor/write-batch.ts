import type { Logger } from '../contracts/logger.js';
import type { QueueItem } from '../contracts/state-store.js';
import type { BatchItem, BatchResult, Target, TargetPayload, WriteResult } from '../contracts/target.js';

/** Where the fate of each item of a batch goes (the write pool's results and tally). */
export interface BatchSink {
  /** The item was written. */
  done(item: QueueItem, result: WriteResult): void;
  /** The item failed (RecordError → dead letter; RetryableError → back to pending and the run stops). */
  failed(item: QueueItem, error: unknown): void;
  /** The payload of an item (mapping it again when it failed to map before), or undefined when it is dead. */
  payloadOf(item: QueueItem): Promise<TargetPayload | undefined>;
}

export interface BatchWriteOptions {
  /** The target's {@link Target.writeBatch}, bound. */
  writeBatch: (items: BatchItem[]) => Promise<BatchResult[]>;
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Writes claimed items through {@link Target.writeBatch}, in one call. Every item ends in exactly one
 * of `done` or `failed`: an answer that misses items, or a batch that fails as a whole, fails each of
 * its items with that error (an outcome-unknown error marks them all maybe-written, so the next
 * attempt looks them up before it resends).
 */
export async function writeItemsInBatch(items: QueueItem[], o: BatchWriteOptions, sink: BatchSink): Promise<void> {
  const ready: QueueItem[] = [];
  const batch: BatchItem[] = [];
  for (const item of items) {
    const payload = await sink.payloadOf(item);
    if (!payload) continue;
    ready.push(item);
    batch.push({ payload, ctx: { key: item.key, knownId: item.knownId ?? undefined, maybeWritten: item.maybeWritten, signal: o.signal, logger: o.logger } });
  }
  if (batch.length === 0) return;
  let results: BatchResult[];
  try {
    results = await o.writeBatch(batch);
  } catch (e) {
    for (const item of ready) sink.failed(item, e);
    return;
  }
  ready.forEach((item, i) => {
    const r = results[i];
    if (r === undefined) sink.failed(item, new Error(`the target answered ${results.length} results for a batch of ${ready.length}: no result for record ${item.key}`));
    else if (r.ok) sink.done(item, r.result);
    else sink.failed(item, r.error);
  });
}

/** Whether this target writes batches, and how many items at most (1 = one at a time). */
export function batchSizeOf(target: Target, maxSize: number | undefined): number {
  return typeof target.writeBatch === 'function' && maxSize !== undefined && maxSize > 1 ? Math.floor(maxSize) : 1;
}
