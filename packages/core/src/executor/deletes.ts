import type { Logger } from '../contracts/logger.js';
import type { DeletedRecord, ReadContext, Source, SourceRecord } from '../contracts/source.js';
import type { Deletion, DeletionCounts, DeletionLog, DeletionUpdate, StateStore } from '../contracts/state-store.js';
import type { RemoveContext, Remover, TargetPayload } from '../contracts/target.js';
import { RecordError } from '../errors/errors.js';
import { mapPayload, type MapStage } from './map.js';
import type { RunTally } from './report.js';

/**
 * What a scheme does about records deleted in the source (`target.onDelete`):
 * - `report`: nothing is written; the run counts them and `qiao overview` lists them;
 * - `stop`: the target record qiao delivered for the key is stopped (disabled) through the
 *   operation's `Remover`; a key qiao never delivered is only reported.
 */
export type OnDelete = 'report' | 'stop';

/** Deletions recorded and looked up per transaction. */
const BATCH = 200;
/** Statuses that mean the target record is (or may be) stopped: a record that comes back is started again. */
const MAY_BE_STOPPED = new Set(['stopped', 'stop_failed', 'restore_pending']);

/** Whether a store keeps deleted records (both of qiao's stores do). */
export function isDeletionLog(store: unknown): store is DeletionLog {
  return typeof (store as Partial<DeletionLog>).saveDeletions === 'function';
}

/**
 * Notices, during the read, the keys that come back: records read live while the deletion log holds
 * them (restored in the source, or edited after a restore). Holds only the logged keys.
 */
export class ComebackWatch {
  readonly back = new Set<string>();

  private constructor(private readonly logged: Set<string>) {}

  static async load(store: DeletionLog, scheme: string): Promise<ComebackWatch> {
    const rows = await store.listDeletions(scheme, { limit: 1_000_000_000 });
    return new ComebackWatch(new Set(rows.map((d) => d.key)));
  }

  /** Called for every record the read yields. */
  seen(rec: SourceRecord): void {
    if (!rec.skip && this.logged.has(rec.key)) this.back.add(rec.key);
  }
}

export interface DeleteStage {
  store: StateStore & DeletionLog;
  scheme: string;
  runId: string;
  source: Source;
  /** The read's context: the deleted list covers the same window (cursor minus look-back to the system's clock). */
  read: Omit<ReadContext, 'checkpoint' | 'onTotal' | 'limit' | 'signal'>;
  onDelete: OnDelete;
  /** The target operation's remover, when it declares one. */
  remover?: Remover | undefined;
  /** Maps what the deleted list shows of a record, for the remover (YonBIP needs the org). */
  mapping: MapStage;
  stream: string;
  watch?: ComebackWatch | undefined;
  tally: RunTally;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * The deletes stage, after the run's writes are delivered and before the checkpoint: reads the
 * source's deleted records of the run's window (`Source.readDeleted`), records each in the deletion
 * log, stops the delivered ones when `onDelete` is `stop`, and starts again those that came back.
 *
 * Crash safety: it does not go through the write queue; it is idempotent and durable on its own. A
 * stop is recorded `stop_pending` before the target is called and `stopped` after; a run that dies in
 * between leaves the row pending, and the next run stops it (stopping a stopped record is fine). The
 * cursor moves only after this stage, so the next run lists the same deletions again anyway. A stop
 * that fails for the record (`RecordError`) is `stop_failed`, counted failed in the report (exit 1),
 * and tried again by every later run; any other error stops the run.
 *
 * A record that comes back in the source (read live while logged as deleted) is started again
 * (`Remover.restore`) when its target record may be stopped, and taken off the log.
 */
export async function handleDeletions(o: DeleteStage): Promise<{ complete: boolean; counts: DeletionCounts }> {
  const counts: DeletionCounts = { read: 0, reported: 0, stopped: 0, notDelivered: 0, failed: 0, restored: 0 };
  o.tally.report.deletions = counts;
  if (o.source.readDeleted) {
    let batch: DeletedRecord[] = [];
    for await (const d of o.source.readDeleted({ ...o.read, signal: o.signal })) {
      if (o.signal.aborted) return { complete: false, counts };
      counts.read++;
      // The deleted list is read after the live one: a key it lists was deleted last.
      o.watch?.back.delete(d.key);
      batch.push(d);
      if (batch.length >= BATCH) {
        await record(o, batch, counts);
        batch = [];
      }
    }
    await record(o, batch, counts);
  }
  if (o.signal.aborted) return { complete: false, counts };
  await comeBack(o, counts);
  if (o.onDelete === 'stop') {
    if (!o.remover) {
      o.logger.warn(`${o.scheme}: onDelete is stop, but the target operation cannot stop records; deletions are only reported`);
    } else {
      // Keys tried in this run: a failed stop is not repeated until the next run.
      const tried = new Set<string>();
      for (;;) {
        const todo = await o.store.listDeletions(o.scheme, { status: ['stop_pending', 'stop_failed'], limit: BATCH });
        const fresh = todo.filter((d) => !tried.has(d.key));
        if (fresh.length === 0) break;
        for (const d of fresh) {
          if (o.signal.aborted) return { complete: false, counts };
          tried.add(d.key);
          await stopOne(o, o.remover, d, counts);
        }
      }
    }
  }
  return { complete: !o.signal.aborted, counts };
}

/** Records a batch of listed deletions: new ones, and ones whose status the scheme's choice changes. */
async function record(o: DeleteStage, batch: DeletedRecord[], counts: DeletionCounts): Promise<void> {
  if (batch.length === 0) return;
  const keys = batch.map((d) => d.key);
  const [logged, delivered] = await Promise.all([o.store.deletionsOf(o.scheme, keys), o.store.delivered(o.scheme, keys)]);
  const rows: DeletionUpdate[] = [];
  for (const d of batch) {
    const targetId = delivered.get(d.key)?.targetId ?? null;
    const wanted = o.onDelete === 'stop' ? (targetId ? 'stop_pending' : 'not_delivered') : 'reported';
    const old = logged.get(d.key);
    // Already logged as it should be (a stopped record stays stopped; a failed stop is retried below).
    if (old && (old.status === wanted || (wanted === 'stop_pending' && (old.status === 'stopped' || old.status === 'stop_failed')))) continue;
    if (!old) {
      if (wanted === 'reported') counts.reported++;
      else if (wanted === 'not_delivered') counts.notDelivered++;
    }
    rows.push({ key: d.key, status: wanted, name: nameOf(d.data), deletedAt: d.deletedAt ?? null, targetId, source: d.data });
  }
  if (rows.length) await o.store.saveDeletions(o.scheme, o.runId, rows);
}

/** Starts again the target records of keys that came back, and takes them off the log. */
async function comeBack(o: DeleteStage, counts: DeletionCounts): Promise<void> {
  const back = [...(o.watch?.back ?? [])];
  for (let i = 0; i < back.length; i += BATCH) {
    const logged = await o.store.deletionsOf(o.scheme, back.slice(i, i + BATCH));
    const drop: string[] = [];
    for (const d of logged.values()) {
      if (o.signal.aborted) return;
      if (MAY_BE_STOPPED.has(d.status) && d.targetId && o.remover?.restore) {
        await o.store.saveDeletions(o.scheme, o.runId, [{ key: d.key, status: 'restore_pending' }]);
        try {
          await o.remover.restore(await removeContext(o, d));
        } catch (e) {
          if (!(e instanceof RecordError)) throw e;
          o.tally.dead(e.reason ?? e.code, `${d.key}: came back in the source, but starting its target record again failed: ${e.message}`);
          continue;
        }
      }
      drop.push(d.key);
      counts.restored++;
    }
    await o.store.dropDeletions(o.scheme, drop);
  }
}

async function stopOne(o: DeleteStage, remover: Remover, d: Deletion, counts: DeletionCounts): Promise<void> {
  if (!d.targetId) {
    await o.store.saveDeletions(o.scheme, o.runId, [{ key: d.key, status: 'not_delivered' }]);
    return;
  }
  try {
    const { outcome } = await remover.remove(await removeContext(o, d));
    const message = outcome === 'gone' ? 'the target no longer holds this record' : null;
    await o.store.saveDeletions(o.scheme, o.runId, [{ key: d.key, status: 'stopped', message }]);
    counts.stopped++;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await o.store.saveDeletions(o.scheme, o.runId, [{ key: d.key, status: 'stop_failed', message }]);
    if (!(e instanceof RecordError)) throw e;
    counts.failed++;
    o.tally.dead(e.reason ?? e.code, `${d.key}: deleted in the source, but stopping its target record failed: ${message}`);
  }
}

/** The remover's context: the target id, and the deleted record as the scheme maps it (when it maps). */
async function removeContext(o: DeleteStage, d: Deletion): Promise<RemoveContext> {
  let payload: TargetPayload | undefined;
  if (d.source) {
    const m = await mapPayload({ stream: o.stream, key: d.key, data: d.source }, o.mapping);
    payload = m.payload ?? undefined;
  }
  return { key: d.key, knownId: d.targetId!, payload, signal: o.signal, logger: o.logger };
}

function nameOf(data: Record<string, unknown>): string | null {
  const name = data.name;
  return typeof name === 'string' && name !== '' ? name : null;
}
