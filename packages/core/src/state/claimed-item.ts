import type { QueueItem } from '../contracts/state-store.js';
import type { TargetPayload } from '../contracts/target.js';

/** A queue item handed to a writer as it is enqueued (`enqueueClaimed`): in flight, first attempt. */
export function claimedItem(
  id: number,
  item: { key: string; payload: TargetPayload; fingerprint: string; cursor: string | null; source?: Record<string, unknown> | null },
  runId: string,
  now: string,
): QueueItem {
  return {
    id,
    key: item.key,
    payload: item.payload,
    source: item.source ?? null,
    fingerprint: item.fingerprint,
    cursor: item.cursor,
    status: 'in-flight',
    attempts: 1,
    maybeWritten: false,
    lastErrorCode: null,
    lastErrorMessage: null,
    runId,
    createdAt: now,
    updatedAt: now,
  };
}
