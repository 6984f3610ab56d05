import { ConnectorAuthError, RecordError, RetryableError, silentLogger, type BatchItem, type KeyGuard, type BatchResult, type Target, type TargetPayload, type WriteContext, type WriteResult } from '@qiao/core';
import type { Job, Queue, QueueEvents } from 'bullmq';
import { redisDown } from './redis-limiter.js';

/** What a write job carries: the payloads and what the write needs to know of each (no functions, no signal). */
export interface WriteJobData {
  scheme: string;
  runId: string;
  items: Array<{ payload: TargetPayload; key: string; knownId?: string | undefined; knownCode?: string | undefined; clears?: string[] | undefined; maybeWritten: boolean }>;
}

/** An error, as a job's result carries it back to the run. */
export interface WireError {
  kind: 'record' | 'retryable' | 'auth' | 'other';
  message: string;
  reason?: string | undefined;
  hint?: string | undefined;
  system?: string | undefined;
  outcomeUnknown?: boolean | undefined;
}

/** What a write job answers: one result per item, in order. */
export type WriteJobResult = Array<{ ok: true; result: WriteResult } | { ok: false; error: WireError }>;

export function toWire(e: unknown): WireError {
  const x = e as Partial<RetryableError> & Error;
  const kind = e instanceof RecordError ? 'record' : e instanceof RetryableError ? 'retryable' : e instanceof ConnectorAuthError ? 'auth' : 'other';
  return { kind, message: x?.message ?? String(e), reason: x.reason, hint: x.hint, system: x.system, outcomeUnknown: e instanceof RetryableError ? e.outcomeUnknown : undefined };
}

export function fromWire(w: WireError): Error {
  const o = { ...(w.reason ? { reason: w.reason } : {}), ...(w.hint ? { hint: w.hint } : {}), ...(w.system ? { system: w.system } : {}) };
  if (w.kind === 'record') return new RecordError(w.message, o);
  if (w.kind === 'retryable') return new RetryableError(w.message, { ...o, outcomeUnknown: w.outcomeUnknown ?? false });
  if (w.kind === 'auth') return new ConnectorAuthError(w.message, o);
  return new Error(w.message);
}

/**
 * Writes one job's items through this process's own target (and so through the app's shared limiter).
 * A job started before (its worker died holding it: BullMQ moved it back after the stall timeout)
 * may have reached the target: each item is then maybe-written, and the target looks it up before
 * it writes again, so the retry never creates a second record. `guard` checks what a lookup finds
 * against the id map the workers share (the run's own check of business keys happened before the job
 * was queued).
 */
export async function processWriteJob(
  target: Target,
  job: Pick<Job<WriteJobData>, 'data' | 'attemptsStarted' | 'stalledCounter'>,
  guard?: Pick<KeyGuard, 'checkFound'>,
): Promise<WriteJobResult> {
  const again = (job.attemptsStarted ?? 1) > 1 || (job.stalledCounter ?? 0) > 0;
  const signal = new AbortController().signal;
  const ctxOf = (i: WriteJobData['items'][number]): WriteContext => ({
    key: i.key,
    knownId: i.knownId,
    knownCode: i.knownCode,
    clears: i.clears,
    maybeWritten: i.maybeWritten || again,
    // a record the target finds by lookup, checked against the shared id map: one tied to another
    // source record is refused (target.key_collision), never updated
    checkFound: guard?.checkFound(i.key, i.payload),
    signal,
    logger: silentLogger,
  });
  const items = job.data.items;
  if (items.length > 1 && target.writeBatch) {
    try {
      const results = await target.writeBatch(items.map((i) => ({ payload: i.payload, ctx: ctxOf(i) })));
      return results.map((r) => (r.ok ? { ok: true as const, result: r.result } : { ok: false as const, error: toWire(r.error) }));
    } catch (e) {
      return items.map(() => ({ ok: false as const, error: toWire(e) }));
    }
  }
  const out: WriteJobResult = [];
  for (const i of items) {
    try {
      out.push({ ok: true, result: await target.write(i.payload, ctxOf(i)) });
    } catch (e) {
      out.push({ ok: false, error: toWire(e) });
    }
  }
  return out;
}

export interface RemoteTargetOptions {
  /** The target of this process (its warm-up gets the connection ready; whether it writes batches). */
  local: Target;
  queue: Queue<WriteJobData, WriteJobResult>;
  events: QueueEvents;
  scheme: string;
  runId: () => string;
  /** Where Redis is, as messages name it. */
  where: string;
}

/**
 * The target a run writes through when its writes are shared by the workers: each write (or batch)
 * is a job on the app's write queue, taken by whichever worker is free, and its result comes back to
 * the run, which settles the state store as it always does. Redis going away fails every write
 * waiting for an answer as outcome-unknown (the job may have been written): the run stops, and the
 * next run looks those records up before it writes them again.
 */
export class RemoteTarget implements Target {
  private readonly waiting = new Set<(e: Error) => void>();
  readonly writeBatch?: (items: BatchItem[]) => Promise<BatchResult[]>;

  constructor(private readonly o: RemoteTargetOptions) {
    if (o.local.writeBatch) this.writeBatch = (items) => this.send(items.map((i) => ({ payload: i.payload, ctx: i.ctx })));
  }

  /** Fails every write waiting for its job (Redis closed the connection). */
  lost(cause: unknown): void {
    const e = redisDown(this.o.where, cause, true);
    for (const reject of [...this.waiting]) reject(e);
  }

  warmUp(signal: AbortSignal): Promise<void> {
    return this.o.local.warmUp?.(signal) ?? Promise.resolve();
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const [r] = await this.send([{ payload, ctx }]);
    if (!r) throw new Error(`the write job of record ${ctx.key} answered no result`);
    if (!r.ok) throw r.error;
    return r.result;
  }

  private async send(items: Array<{ payload: TargetPayload; ctx: WriteContext }>): Promise<BatchResult[]> {
    const data: WriteJobData = {
      scheme: this.o.scheme,
      runId: this.o.runId(),
      items: items.map(({ payload, ctx }) => ({ payload, key: ctx.key, knownId: ctx.knownId, knownCode: ctx.knownCode, clears: ctx.clears, maybeWritten: ctx.maybeWritten })),
    };
    let job: Job<WriteJobData, WriteJobResult>;
    try {
      job = await this.o.queue.add('write', data, { removeOnComplete: { age: 600 }, removeOnFail: { age: 3600 } });
    } catch (e) {
      // not added: nothing was sent
      throw redisDown(this.o.where, e);
    }
    let reject!: (e: Error) => void;
    const lost = new Promise<never>((_, r) => (reject = r));
    this.waiting.add(reject);
    try {
      const answer = await Promise.race([job.waitUntilFinished(this.o.events), lost]);
      return answer.map((r) => (r.ok ? r : { ok: false, error: fromWire(r.error) }));
    } catch (e) {
      if ((e as { system?: string }).system === 'redis') throw e;
      // the job failed as a whole (it stalled too often): its items may have been written
      throw new RetryableError(`the write job of ${items.length} record(s) failed: ${(e as Error).message}`, { system: 'redis', reason: 'worker.write_failed', outcomeUnknown: true, hint: 'see the logs of the qiao workers; the next run checks these records before writing them again' });
    } finally {
      this.waiting.delete(reject);
    }
  }
}
