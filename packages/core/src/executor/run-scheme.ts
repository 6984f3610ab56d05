import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from '../contracts/logger.js';
import { silentLogger } from '../contracts/logger.js';
import type { Mapper } from '../contracts/mapper.js';
import type { Source, SourceRecord } from '../contracts/source.js';
import type { Completion, EnqueueItem, ErrorGroup, Failure, QueueItem, RunReport, StateStore } from '../contracts/state-store.js';
import type { Target, TargetPayload } from '../contracts/target.js';
import { ConnectorAuthError, formatProblem, isQiaoError, RecordError, RetryableError, type Problem } from '../errors/errors.js';
import { fingerprint } from './fingerprint.js';

export interface Progress {
  phase: 'resume' | 'read' | 'write' | 'done';
  read: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  /** Items enqueued and not yet written. */
  queued: number;
  /** Records the source said it will yield, when known. */
  total?: number | undefined;
  /** Records finished (written, skipped or failed) per second so far. */
  ratePerSecond: number;
  etaMs?: number | undefined;
  elapsedMs: number;
}

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
  /** Records mapped and enqueued per transaction. @default 200 */
  batchSize?: number;
  /** Reading pauses while this many items wait to be written. @default 2000 */
  maxQueued?: number;
  /** Wait for another run of the scheme to finish instead of refusing. */
  waitForLock?: boolean;
  /** Stops reading and starting writes (graceful stop); writes in flight finish. */
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (progress: Progress) => void;
  /** Diagnosis of an error reason, shown as the report's hint. */
  hintFor?: (reason: string, message: string) => string | undefined;
  runId?: string;
}

const FLUSH_EVERY = 256;
const FLUSH_MAX_WAIT_MS = 500;
/** A batch is enqueued once it is full or its first record has waited this long. */
const BATCH_MAX_WAIT_MS = 200;
/**
 * ... or, while writers wait for work, once it has waited this long: writers are not kept idle, and a
 * source faster than its writers (the engine benchmark) still gets batches, not a transaction a record.
 */
const IDLE_BATCH_WAIT_MS = 2;

/**
 * Runs a scheme once: resumes what earlier runs left in the write queue, reads the source, maps and
 * checks each record, enqueues payloads durably in batches, writes them through the target with
 * bounded concurrency, and advances the cursor only once every record it passes is written or dead.
 */
export async function runScheme(o: RunSchemeOptions): Promise<RunReport> {
  const logger = o.logger ?? silentLogger;
  const store = o.store;
  const scheme = o.scheme;
  const concurrency = o.concurrency ?? 4;
  const batchSize = o.batchSize ?? 200;
  const maxQueued = o.maxQueued ?? 2000;
  const started = Date.now();
  const report: RunReport = {
    scheme,
    runId: o.runId ?? newRunId(),
    status: 'running',
    counts: { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 },
    startedAt: new Date(started).toISOString(),
    finishedAt: null,
    durationMs: 0,
    errors: [],
    skips: [],
    resumed: 0,
  };
  const errorGroups = new Map<string, ErrorGroup>();
  const skipGroups = new Map<string, ErrorGroup>();
  const note = (groups: Map<string, ErrorGroup>, code: string, message: string, hint?: string) => {
    const g = groups.get(code);
    if (g) g.count++;
    else groups.set(code, { code, message, count: 1, hint: o.hintFor?.(code, message) ?? hint });
  };

  const lock = await store.lock(scheme, { wait: o.waitForLock ?? false, ...(o.signal ? { signal: o.signal } : {}) });
  const stop = new AbortController();
  // Every queued request of a run listens on these signals; that is expected, not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let fatal: unknown;
  const setFatal = (e: unknown) => {
    if (fatal === undefined) fatal = e;
    stop.abort();
  };

  let total: number | undefined;
  let outstanding = 0; // enqueued by this run (or resumed) and not yet finished
  let lastProgress = 0;
  let phase: Progress['phase'] = 'resume';
  const progress = (force = false) => {
    if (!o.onProgress) return;
    const now = Date.now();
    if (!force && now - lastProgress < 200) return;
    lastProgress = now;
    const c = report.counts;
    const finished = c.inserted + c.updated + c.skipped + c.failed;
    const elapsedMs = now - started;
    const rate = elapsedMs > 0 ? (finished * 1000) / elapsedMs : 0;
    o.onProgress({
      phase,
      ...c,
      queued: outstanding,
      total,
      ratePerSecond: rate,
      etaMs: total !== undefined && rate > 0 ? Math.max(0, ((total - finished) / rate) * 1000) : undefined,
      elapsedMs,
    });
  };

  try {
    await store.startRun(scheme, report);
    const recovered = await store.recoverInFlight(scheme);
    if (recovered) logger.info(`${recovered} writes were in flight when an earlier run stopped; they are checked against the target before any retry`);

    // ---- writers -------------------------------------------------------------------------------
    const completions: Completion[] = [];
    const failures: Failure[] = [];
    let lastFlush = Date.now();
    const flush = async () => {
      lastFlush = Date.now();
      if (completions.length) await store.complete(scheme, completions.splice(0));
      if (failures.length) await store.fail(scheme, failures.splice(0));
    };
    let readerDone = Boolean(o.drainOnly);
    let wake: (() => void) | undefined;
    let wakePromise: Promise<void> | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      wakePromise = undefined;
      w?.();
    };
    const waitForWork = () => (wakePromise ??= new Promise<void>((r) => (wake = r)));
    let drained: (() => void) | undefined;
    const buffer: QueueItem[] = [];
    /** Writers waiting for work: a batch is enqueued early rather than keep them waiting. */
    let idleWorkers = 0;

    // Pending items this process knows of: claiming only then saves a write transaction per empty poll.
    let knownPending = 0;
    const refill = async (): Promise<QueueItem | undefined> => {
      if (buffer.length === 0 && (knownPending > 0 || readerDone)) {
        const claimed = await store.claim(scheme, Math.max(concurrency * 8, 256));
        knownPending = Math.max(0, knownPending - claimed.length);
        buffer.push(...claimed);
      }
      return buffer.shift();
    };

    const releaseReader = () => {
      const d = drained;
      drained = undefined;
      d?.();
    };
    const finishItem = () => {
      outstanding = Math.max(0, outstanding - 1);
      if (outstanding <= maxQueued / 2) releaseReader();
      progress();
    };

    // Writes in flight are let finish on a stop; nothing aborts them.
    const writeSignal = new AbortController().signal;
    setMaxListeners(0, writeSignal);
    const writeOne = async (item: QueueItem) => {
      let payload = item.payload;
      if (payload === null) {
        // A record that failed to map earlier and was re-queued: map it again with today's mapping.
        const mapped = await mapAndCheck({ stream: o.stream, key: item.key, data: item.source ?? {} });
        if ('dead' in mapped) {
          failures.push({ id: item.id, code: mapped.dead.code, message: mapped.dead.message, dead: true });
          report.counts.failed++;
          note(errorGroups, mapped.dead.code, mapped.dead.message);
          return;
        }
        payload = mapped.payload;
        item.fingerprint = mapped.fingerprint;
        await store.enqueue(scheme, report.runId, [{ key: item.key, payload, fingerprint: mapped.fingerprint, cursor: item.cursor ?? undefined }]);
      }
      const knownId = item.knownId ?? (item.payload === null ? (await store.delivered(scheme, [item.key])).get(item.key)?.targetId : undefined) ?? undefined;
      try {
        const result = await o.target.write(payload, {
          key: item.key,
          knownId,
          maybeWritten: item.maybeWritten,
          signal: writeSignal,
          logger,
        });
        completions.push({ id: item.id, key: item.key, fingerprint: item.fingerprint, outcome: result.outcome, targetId: result.id });
        if (result.outcome === 'inserted') report.counts.inserted++;
        else if (result.outcome === 'updated') report.counts.updated++;
        else report.counts.skipped++;
      } catch (e) {
        if (e instanceof RecordError) {
          const code = e.reason ?? 'record.rejected';
          failures.push({ id: item.id, code, message: e.message, dead: true });
          report.counts.failed++;
          note(errorGroups, code, e.message, e.hint);
        } else if (e instanceof RetryableError || e instanceof ConnectorAuthError) {
          // Not the record's fault: it stays queued for the next run, and this run stops.
          failures.push({
            id: item.id,
            code: e.reason ?? e.code,
            message: e.message,
            dead: false,
            maybeWritten: e instanceof RetryableError && e.outcomeUnknown,
          });
          setFatal(e);
        } else {
          const message = `unexpected error writing record ${item.key}: ${(e as Error).message}`;
          failures.push({ id: item.id, code: 'internal', message, dead: true });
          report.counts.failed++;
          note(errorGroups, 'internal', message, 'this is a bug in qiao or a connector; run with --debug and report it');
          logger.debug(message, { stack: (e as Error).stack });
        }
      }
    };

    const worker = async () => {
      for (;;) {
        if (stop.signal.aborted) return;
        const item = await refill();
        if (!item) {
          if (readerDone) return;
          // Nothing left to write: let the reader go on whatever the count says.
          outstanding = 0;
          releaseReader();
          idleWorkers++;
          await waitForWork();
          idleWorkers--;
          continue;
        }
        try {
          await writeOne(item);
        } finally {
          finishItem();
          // In batches for speed, and at least twice a second so state and overview stay current.
          if (completions.length + failures.length >= FLUSH_EVERY || Date.now() - lastFlush >= FLUSH_MAX_WAIT_MS) await flush();
        }
      }
    };

    // ---- map + check --------------------------------------------------------------------------
    type Mapped = { payload: TargetPayload; fingerprint: string } | { dead: { code: string; message: string }; payload: TargetPayload | null };
    const mappingFailed = (e: unknown): Mapped => {
      const code = isQiaoError(e) ? (e.reason ?? e.code) : 'mapping.error';
      return { dead: { code, message: (e as Error).message }, payload: null };
    };
    /** Maps and checks a record; synchronously when the mapper answers synchronously (the usual case). */
    const mapAndCheck = (rec: SourceRecord): Mapped | Promise<Mapped> => {
      let payload: TargetPayload | Promise<TargetPayload>;
      try {
        payload = o.mapper.map(rec);
      } catch (e) {
        return mappingFailed(e);
      }
      if (payload instanceof Promise) return payload.then((p) => checkMapped(rec, p), mappingFailed);
      return checkMapped(rec, payload);
    };
    const checkMapped = (rec: SourceRecord, payload: TargetPayload): Mapped => {
      const problems = o.checkPayload?.(payload) ?? [];
      if (problems.length) {
        return {
          dead: {
            code: 'payload.invalid',
            message: `record ${rec.key}: the mapped payload does not fit the operation: ${problems.map(formatProblem).join('; ')}`,
          },
          payload,
        };
      }
      return { payload, fingerprint: fingerprint(payload) };
    };

    stop.signal.addEventListener('abort', notify, { once: true });
    const workers = new Set<Promise<void>>();
    const startWorkers = () => {
      while (workers.size < concurrency) {
        const w: Promise<void> = worker().finally(() => workers.delete(w));
        workers.add(w);
      }
    };

    // The target's connection gets ready (BIP's gateway address and token) while the source is read.
    if (o.target.warmUp && !o.drainOnly) {
      o.target.warmUp(stop.signal).catch((e: unknown) => logger.debug(`target warm-up failed; the first write meets it again: ${(e as Error).message}`));
    }

    // Resume what earlier runs left pending before reading anything new.
    const leftover = (await store.counts(scheme)).pending;
    if (leftover && !o.drainOnly) logger.info(`resuming ${leftover} queued writes from an earlier run`);
    report.resumed = leftover;
    outstanding += leftover;
    knownPending += leftover;
    startWorkers();

    // ---- reader -------------------------------------------------------------------------------
    let maxCursor: string | undefined;
    let readComplete = false;
    if (!o.drainOnly) {
      phase = 'read';
      const startCursor = o.incremental && !o.full ? await store.getCursor(scheme, o.stream) : undefined;
      maxCursor = startCursor;
      // A batch holds records already mapped: the source's record (an OKKI company is ~10 KB of heap)
      // can go at once, rather than live through the batch's wait and be copied by the GC.
      type Read = { key: string; cursor: string | undefined; m: Mapped; data: Record<string, unknown> | undefined };
      let batch: Read[] = [];
      let batchStarted = 0;
      const processBatch = async (mapped: Read[]) => {
        const items: EnqueueItem[] = [];
        const delivered = await store.delivered(
          scheme,
          mapped.filter(({ m }) => 'fingerprint' in m).map(({ key }) => key),
        );
        const seen = new Map<string, number>();
        for (const rec of mapped) {
          const m = rec.m;
          if ('dead' in m) {
            items.push({ key: rec.key, payload: m.payload, source: rec.data, fingerprint: '', cursor: rec.cursor, dead: m.dead });
            report.counts.failed++;
            note(errorGroups, m.dead.code, m.dead.message);
            continue;
          }
          if (delivered.get(rec.key)?.fingerprint === m.fingerprint) {
            report.counts.skipped++;
            continue;
          }
          // The same key twice in one batch: the later read wins.
          const prev = seen.get(rec.key);
          if (prev !== undefined) items.splice(prev, 1, { key: rec.key, payload: m.payload, fingerprint: m.fingerprint, cursor: rec.cursor });
          else {
            seen.set(rec.key, items.length);
            items.push({ key: rec.key, payload: m.payload, fingerprint: m.fingerprint, cursor: rec.cursor });
            outstanding++;
          }
        }
        if (items.length) {
          // Durable before any write starts; the writers claim them from the queue.
          await store.enqueue(scheme, report.runId, items);
          for (const it of items) if (!it.dead) knownPending++;
        }
        notify();
        progress();
        if (outstanding > maxQueued && !stop.signal.aborted) {
          await new Promise<void>((r) => {
            drained = r;
            stop.signal.addEventListener('abort', () => r(), { once: true });
          });
        }
      };
      try {
        for await (const rec of o.source.read({
          params: o.params ?? {},
          detail: o.detail ?? false,
          cursor: startCursor,
          lookbackMs: o.lookbackMs ?? 0,
          limit: o.limit,
          signal: stop.signal,
          logger,
          onTotal: (n) => {
            total = n;
          },
        })) {
          if (stop.signal.aborted) break;
          report.counts.read++;
          if (rec.cursor !== undefined && (maxCursor === undefined || rec.cursor > maxCursor)) maxCursor = rec.cursor;
          if (rec.skip) {
            report.counts.skipped++;
            note(skipGroups, rec.skip.reason, rec.skip.message);
          } else {
            if (batch.length === 0) batchStarted = Date.now();
            const mapped = mapAndCheck(rec);
            const m = mapped instanceof Promise ? await mapped : mapped;
            batch.push({ key: rec.key, cursor: rec.cursor, m, data: 'dead' in m ? rec.data : undefined });
            // A slow source (detail calls) should not hold records back from the writers for long.
            const waited = Date.now() - batchStarted;
            if (batch.length >= batchSize || waited >= BATCH_MAX_WAIT_MS || (waited >= IDLE_BATCH_WAIT_MS && idleWorkers > 0 && buffer.length === 0)) {
              await processBatch(batch);
              batch = [];
            }
          }
          if (o.limit !== undefined && report.counts.read >= o.limit) break;
        }
        if (batch.length && !stop.signal.aborted) await processBatch(batch);
        readComplete = !stop.signal.aborted && (o.limit === undefined || report.counts.read < o.limit);
      } catch (e) {
        if (!stop.signal.aborted || fatal === undefined) setFatal(e);
      }
    }

    // ---- drain --------------------------------------------------------------------------------
    phase = 'write';
    readerDone = true;
    notify();
    for (;;) {
      while (workers.size) await Promise.race(workers);
      await flush();
      // Items re-queued while in flight (read again with new content) are written once more.
      if (stop.signal.aborted || (await store.counts(scheme)).pending === 0) break;
      startWorkers();
    }
    if (buffer.length) {
      // Claimed but never started (stopping): back to pending, untouched.
      await store.fail(scheme, buffer.splice(0).map((i) => ({ id: i.id, code: 'stopped', message: 'the run stopped before this write started', dead: false })));
    }

    // ---- checkpoint ---------------------------------------------------------------------------
    const left = await store.counts(scheme);
    if (readComplete && fatal === undefined && left.pending === 0 && left['in-flight'] === 0 && maxCursor !== undefined) {
      await store.setCursor(scheme, o.stream, maxCursor);
    }
    report.cursor = (await store.getCursor(scheme, o.stream)) ?? null;
  } catch (e) {
    setFatal(e);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    phase = 'done';
    const finished = Date.now();
    report.finishedAt = new Date(finished).toISOString();
    report.durationMs = finished - started;
    report.errors = [...errorGroups.values()].sort((a, b) => b.count - a.count);
    report.skips = [...skipGroups.values()].sort((a, b) => b.count - a.count);
    if (fatal !== undefined) {
      const e = fatal as Error;
      const q = isQiaoError(e) ? e : undefined;
      report.fatal = { code: q?.reason ?? q?.code ?? 'internal', message: e.message, hint: q?.hint };
      report.status = 'failed';
    } else if (o.signal?.aborted) {
      report.fatal = { code: 'stopped', message: 'the run was stopped before it finished', hint: 'run it again to resume: queued writes are kept' };
      report.status = 'failed';
    } else {
      report.status = report.counts.failed > 0 ? 'partial' : 'succeeded';
    }
    try {
      await store.finishRun(scheme, report);
    } finally {
      await lock.release();
    }
    progress(true);
  }
  if (fatal !== undefined && !isQiaoError(fatal)) throw fatal;
  return report;
}

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${t}-${randomUUID().slice(0, 8)}`;
}
