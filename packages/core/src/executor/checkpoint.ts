import type { StateStore } from '../contracts/state-store.js';
import type { ReadOutcome } from './read.js';

/** Where a read starts: the stored cursor of an incremental read, else the beginning. */
export async function startCursor(
  store: Pick<StateStore, 'getCursor'> | undefined,
  scheme: string,
  stream: string,
  incremental: boolean,
): Promise<string | undefined> {
  return incremental && store ? await store.getCursor(scheme, stream) : undefined;
}

export interface CheckpointStage {
  store: StateStore;
  scheme: string;
  stream: string;
  /** The read of this run; undefined when it read nothing (drain only). */
  read: ReadOutcome | undefined;
  /** The run met a fatal error. */
  failed: boolean;
}

/**
 * The checkpoint stage: the cursor moves only when the read went to its end, no fatal error stopped
 * the run, and nothing is pending or in flight — so it never passes a record that is not yet written
 * or dead. It moves to the cursor the source gave (`ReadContext.checkpoint`: the end of its window by
 * the system's clock) when it gave one, even when records changed during the run carry later cursors:
 * taking those would start the next window after edits made during this run to records already read.
 * A source that gives none moves it to the largest cursor read. Returns the cursor as stored.
 */
export async function checkpoint(o: CheckpointStage): Promise<string | null> {
  const { store, scheme, stream, read } = o;
  const next = read?.checkpoint ?? read?.maxCursor;
  if (read?.complete && !o.failed && next !== undefined) {
    const left = await store.counts(scheme);
    if (left.pending === 0 && left['in-flight'] === 0) await store.setCursor(scheme, stream, next);
  }
  return (await store.getCursor(scheme, stream)) ?? null;
}
