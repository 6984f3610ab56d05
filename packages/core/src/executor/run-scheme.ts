import type { Logger } from '../contracts/logger.js';
import { silentLogger } from '../contracts/logger.js';
import type { Mapper } from '../contracts/mapper.js';
import type { Source } from '../contracts/source.js';
import type { RunLock, RunReport, StateStore } from '../contracts/state-store.js';
import type { Remover, Target } from '../contracts/target.js';
import { isQiaoError, type Problem } from '../errors/errors.js';
import { checkpoint, startCursor } from './checkpoint.js';
import { KeyGuard } from './collisions.js';
import { ComebackWatch, handleDeletions, isDeletionLog, type OnDelete } from './deletes.js';
import { Enqueuer } from './enqueue.js';
import { mapPayload, mapRecord, type MapStage } from './map.js';
import { QueueFlow } from './queue-flow.js';
import { readRecords, type ReadOutcome } from './read.js';
import { newRunId, RunTally, type HintFor, type Progress, type RunConnection } from './report.js';
import { RunStop } from './run-stop.js';
import { batchSizeOf } from './write-batch.js';
import { WritePool } from './write-pool.js';

export { newRunId, type Progress, type RunConnection } from './report.js';

export interface RunSchemeOptions {
  scheme: string;
  /** Stream id, the key of the cursor. */
  stream: string;
  source: Source;
  mapper: Mapper;
  target: Target;
  store: StateStore;
  /** Checks a mapped payload against the operation's input schema. */
  checkPayload?: (payload: unknown) => Problem[];
  /**
   * The operation's upsert key (`upsert.key` of its manifest, e.g. `code`): a record whose value of it
   * another source record holds becomes a dead letter (`target.key_collision`). Absent: not checked.
   */
  upsertKey?: string | undefined;
  /** Top-level target fields an update never clears when the mapping yields nothing for them (`target.keepWhenEmpty`). @default [] */
  keepWhenEmpty?: readonly string[] | undefined;
  params?: Record<string, unknown>;
  detail?: boolean;
  /** Read from the stored cursor (minus look-back) rather than from the beginning. */
  incremental?: boolean;
  lookbackMs?: number;
  /** Ignore the cursor and read everything; unchanged records are still skipped. */
  full?: boolean;
  /** Read at most this many records (the cursor does not move). */
  limit?: number | undefined;
  /** Only deliver what the queue holds (from earlier runs, or re-queued dead letters); read nothing. */
  drainOnly?: boolean;
  /** Concurrent writes. @default 4 */
  concurrency?: number;
  /**
   * Items per call of a target that writes batches ({@link Target.writeBatch}): the operation's
   * manifest `batch.maxSize`. Ignored for a target without `writeBatch`. @default 1
   */
  writeBatchSize?: number | undefined;
  /** Records mapped and enqueued per transaction. @default 200 */
  batchSize?: number;
  /** Reading pauses while this many items wait to be written. @default 2000 */
  maxQueued?: number;
  /**
   * What to do about records deleted in the source (`target.onDelete`), when the source can list them
   * (`Source.readDeleted`). Unset: deletions are not read.
   */
  onDelete?: OnDelete | undefined;
  /** Stops target records whose source record was deleted (`onDelete: stop`), and starts them again. */
  remover?: Remover | undefined;
  /** Wait for another run of the scheme to finish instead of refusing. */
  waitForLock?: boolean;
  /** Stops reading and starting writes (graceful stop); writes in flight finish. */
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (progress: Progress) => void;
  /**
   * The run's connections (source and target) with their limiters: the report and every progress event
   * say how long each was throttled by its system's rate limit (`throttling`).
   */
  connections?: readonly RunConnection[] | undefined;
  /** Diagnosis of an error reason, shown as the report's hint. */
  hintFor?: HintFor;
  runId?: string;
}

/** The stages of one run, wired together. */
interface Run {
  o: RunSchemeOptions;
  logger: Logger;
  tally: RunTally;
  stop: RunStop;
  flow: QueueFlow;
  mapping: MapStage;
  /** Keys logged as deleted that the read meets live again (see deletes.ts). */
  watch?: ComebackWatch | undefined;
}

/**
 * Runs a scheme once: resumes what earlier runs left in the write queue, reads the source, maps and
 * checks each record, enqueues payloads durably in batches, writes them through the target with
 * bounded concurrency, and advances the cursor only once every record it passes is written or dead.
 */
export async function runScheme(o: RunSchemeOptions): Promise<RunReport> {
  const { store, scheme } = o;
  const tally = new RunTally(scheme, o.runId ?? newRunId(), o);
  let lock: RunLock;
  try {
    lock = await store.lock(scheme, { wait: o.waitForLock ?? false, ...(o.signal ? { signal: o.signal } : {}) });
  } catch (e) {
    // stopped while waiting for another run of the scheme (--wait): cancelled before it started
    if (o.signal?.aborted && (e === o.signal.reason || (e as Error)?.name === 'AbortError')) return tally.finish(undefined, true);
    throw e;
  }
  const stop = new RunStop(o.signal);
  // another run took the lock over (this one stopped renewing it) or `qiao unlock` removed it
  lock.lost?.addEventListener('abort', () => stop.fail(lock.lost?.reason), { once: true });
  if (lock.tookOver) {
    const h = lock.tookOver;
    (o.logger ?? silentLogger).warn(`took over the run lock of ${scheme} from pid ${h.pid} on ${h.host}, which stopped renewing it at ${h.renewedAt}`);
  }
  const flow = new QueueFlow(o.maxQueued ?? 2000, stop.signal, Boolean(o.drainOnly));
  tally.queued = () => flow.outstanding;
  const run: Run = { o, logger: o.logger ?? silentLogger, tally, stop, flow, mapping: { mapper: o.mapper, checkPayload: o.checkPayload } };
  try {
    await store.startRun(scheme, tally.report);
    tally.startHeartbeat();
    const deletes = o.onDelete && !o.drainOnly && o.source.readDeleted && isDeletionLog(store);
    if (deletes) run.watch = await ComebackWatch.load(store, scheme);
    const pool = await resume(run);
    let read = o.drainOnly ? undefined : await readAndEnqueue(run);
    tally.phase = 'write';
    await pool.drain();
    // the target's credentials are checked even when nothing needed writing
    await pool.warmedUp;
    if (deletes && read?.complete && stop.fatal === undefined && !stop.aborted) {
      const done = await handleDeletions({
        store,
        scheme,
        runId: tally.report.runId,
        source: o.source,
        read: readContext(run, await startCursor(store, scheme, o.stream, Boolean(o.incremental && !o.full))),
        onDelete: o.onDelete!,
        remover: o.remover,
        mapping: run.mapping,
        stream: o.stream,
        watch: run.watch,
        tally,
        logger: run.logger,
        signal: stop.signal,
      });
      // the cursor moves past these deletions only once they are all handled
      if (!done.complete) read = { ...read, complete: false };
    }
    tally.report.cursor = await checkpoint({ store, scheme, stream: o.stream, read, failed: stop.fatal !== undefined });
    // SQLite writes on into a state file deleted under it: say so now, not at the next run
    await store.checkIntact();
  } catch (e) {
    stop.fail(e);
  } finally {
    stop.dispose();
    tally.finish(stop.fatal, stop.stoppedByUser);
    try {
      await store.finishRun(scheme, tally.report);
    } finally {
      await lock.release();
    }
    tally.progress(true);
  }
  if (stop.fatal !== undefined && !isQiaoError(stop.fatal)) throw stop.fatal;
  return tally.report;
}

/** Puts back what a dead process left in flight, and starts the writers on what earlier runs left pending. */
async function resume({ o, logger, tally, stop, flow, mapping }: Run): Promise<WritePool> {
  const { store, scheme } = o;
  const recovered = await store.recoverInFlight(scheme);
  if (recovered) logger.info(`${recovered} writes were in flight when an earlier run stopped; they are checked against the target before any retry`);
  const pool = new WritePool({
    store,
    scheme,
    runId: tally.report.runId,
    target: o.target,
    logger,
    concurrency: o.concurrency ?? 4,
    batchSize: batchSizeOf(o.target, o.writeBatchSize),
    tally,
    flow,
    stop,
    remap: (item) => mapPayload({ stream: o.stream, key: item.key, data: item.source ?? {} }, mapping),
    keys: o.upsertKey ? new KeyGuard({ store, scheme, upsertKey: o.upsertKey }) : undefined,
    keepWhenEmpty: new Set(o.keepWhenEmpty ?? []),
  });
  if (!o.drainOnly) pool.warmUp();
  const leftover = (await store.counts(scheme)).pending;
  if (leftover && !o.drainOnly) logger.info(`resuming ${leftover} queued writes from an earlier run`);
  tally.report.resumed = leftover;
  flow.added(leftover);
  pool.start();
  return pool;
}

/** Reads the source, maps each record and enqueues it; a read error stops the run. */
async function readAndEnqueue(run: Run): Promise<ReadOutcome | undefined> {
  const { o, logger, tally, stop, flow, mapping } = run;
  const { store, scheme } = o;
  tally.phase = 'read';
  const enqueuer = new Enqueuer({ store, scheme, runId: tally.report.runId, batchSize: o.batchSize ?? 200, tally, flow, signal: stop.signal });
  try {
    const read = await readRecords(
      {
        source: o.source,
        params: o.params ?? {},
        detail: o.detail ?? false,
        cursor: await startCursor(store, scheme, o.stream, Boolean(o.incremental && !o.full)),
        lookbackMs: o.lookbackMs ?? 0,
        limit: o.limit,
        signal: stop.signal,
        logger,
        onTotal: (n) => (tally.total = n),
        onWarning: (code, message) => {
          logger.warn(message, { code });
          tally.warnings.add(code, message);
        },
      },
      async (rec) => {
        tally.counts.read++;
        run.watch?.seen(rec);
        const m = await mapRecord(rec, mapping);
        if (m.kind === 'skip') tally.skipped(m.reason, m.message);
        else if (m.kind !== 'unchanged') await enqueuer.add(m);
      },
    );
    await enqueuer.end();
    return { ...read, complete: read.complete && !stop.aborted };
  } catch (e) {
    // an error of a read the run already stopped (for a fatal write error) is not the run's error
    if (!stop.aborted || stop.fatal === undefined) stop.fail(e);
    return undefined;
  }
}

/** What the deleted list is read with: the read's window and params (the cursor has not moved yet). */
function readContext({ o, logger, tally }: Run, cursor: string | undefined) {
  return {
    params: o.params ?? {},
    detail: false,
    cursor,
    lookbackMs: o.lookbackMs ?? 0,
    logger,
    warn: (code: string, message: string) => {
      logger.warn(message, { code });
      tally.warnings.add(code, message);
    },
  };
}
