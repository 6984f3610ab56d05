import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueItem } from '../contracts/state-store.js';
import type { BatchItem, BatchResult, Target, TargetPayload, WriteContext, WriteResult } from '../contracts/target.js';
import type { QueueFlow } from './queue-flow.js';

/**
 * While the source is still being read, a batch waits this long at most for more items: the target's
 * calls are what users wait for under a per-minute quota, so a fuller batch is worth a short pause.
 */
export const BATCH_LINGER_MS = 1000;
const LINGER_STEP_MS = 50;

/** What {@link gatherBatch} takes items from. */
export interface BatchSupply {
  /** Claimed items not yet started (taken from the front). */
  buffer: QueueItem[];
  flow: QueueFlow;
  signal: AbortSignal;
  /** Claims more pending items into the buffer. */
  refill: () => Promise<void>;
}

/**
 * The items of one batch: `first` and up to `size - 1` claimed items beside it. While the read goes
 * on and the batch is not full, it waits up to {@link BATCH_LINGER_MS} for the reader to enqueue more
 * (a source that yields one record at a time would otherwise make batches of one or two).
 */
export async function gatherBatch(first: QueueItem, size: number, supply: BatchSupply): Promise<QueueItem[]> {
  const { buffer, flow, signal } = supply;
  const deadline = Date.now() + BATCH_LINGER_MS;
  while (buffer.length + 1 < size && !flow.readerDone && !signal.aborted && Date.now() < deadline) {
    await sleep(LINGER_STEP_MS);
    await supply.refill();
  }
  return [first, ...buffer.splice(0, size - 1)];
}

/** Where the fate of each item of a batch goes (the write pool's results and tally). */
export interface BatchSink {
  /** The item was written (its payload as sent, for the id map: business key, fields delivered). */
  done(item: QueueItem, payload: TargetPayload, result: WriteResult): void;
  /** The item failed (RecordError → dead letter; RetryableError → back to pending and the run stops). */
  failed(item: QueueItem, error: unknown): void;
  /** The payload of an item (mapping it again when it failed to map before), or undefined when it is dead. */
  payloadOf(item: QueueItem): Promise<TargetPayload | undefined>;
  /**
   * The item's write context, as a write alone gets it (id map, clears, `checkFound`); rejects with
   * the item's refusal (`target.key_collision`: another source key holds its business key), which
   * fails that item alone before the batch is sent.
   */
  contextOf(item: QueueItem, payload: TargetPayload): Promise<WriteContext>;
}

export interface BatchWriteOptions {
  /** The target's {@link Target.writeBatch}, bound. */
  writeBatch: (items: BatchItem[]) => Promise<BatchResult[]>;
}

/**
 * Writes claimed items through {@link Target.writeBatch}, in one call. Each item gets the write context
 * a write alone would (id map, clears, collision check); one refused by the collision check fails alone
 * and is not sent. Every item ends in exactly one
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
    let ctx: WriteContext;
    try {
      // One at a time, in order: of two items with one code, the first claims it and the second is refused.
      ctx = await sink.contextOf(item, payload);
    } catch (e) {
      sink.failed(item, e);
      continue;
    }
    ready.push(item);
    batch.push({ payload, ctx });
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
    else if (r.ok) sink.done(item, (batch[i] as BatchItem).payload, r.result);
    else sink.failed(item, r.error);
  });
}

/** Whether this target writes batches, and how many items at most (1 = one at a time). */
export function batchSizeOf(target: Target, maxSize: number | undefined): number {
  return typeof target.writeBatch === 'function' && maxSize !== undefined && maxSize > 1 ? Math.floor(maxSize) : 1;
}
