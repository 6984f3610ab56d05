import { setMaxListeners } from 'node:events';
import type { Logger } from '../contracts/logger.js';
import type { Completion, Failure, QueueItem, StateStore } from '../contracts/state-store.js';
import type { Target, TargetPayload, WriteContext, WriteResult } from '../contracts/target.js';
import { ConnectorAuthError, RecordError, RetryableError } from '../errors/errors.js';
import { clearsFor, fieldsOf } from './clears.js';
import type { KeyGuard } from './collisions.js';
import type { MappedDead, MappedPayload } from './map.js';
import type { QueueFlow } from './queue-flow.js';
import type { RunTally } from './report.js';
import type { RunStop } from './run-stop.js';
import { gatherBatch, writeItemsInBatch } from './write-batch.js';

/** Write results are saved once this many wait ... */
const FLUSH_EVERY = 256;
/** ... or the oldest has waited this long, so that state and overview stay current. */
const FLUSH_MAX_WAIT_MS = 500;

export interface WritePoolStage {
  store: StateStore;
  scheme: string;
  runId: string;
  target: Target;
  logger: Logger;
  /** Concurrent writes. */
  concurrency: number;
  /** Items per {@link Target.writeBatch} call, when the target writes batches (see write-batch.ts). @default 1 */
  batchSize?: number;
  tally: RunTally;
  flow: QueueFlow;
  stop: RunStop;
  /** Maps again, with the mapping of today, a record that failed to map before and was re-queued. */
  remap: (item: QueueItem) => Promise<MappedPayload | MappedDead>;
  /** Refuses a record whose target key another source record holds (collisions.ts); absent: no upsert key to check. */
  keys?: KeyGuard | undefined;
  /** Fields an update never clears (the scheme's `target.keepWhenEmpty`). */
  keepWhenEmpty?: ReadonlySet<string> | undefined;
}

/** The outcomes of writes, saved to the store in batches (one transaction each). */
class WriteResults {
  readonly completions: Completion[] = [];
  readonly failures: Failure[] = [];
  private last = Date.now();

  constructor(
    private readonly store: StateStore,
    private readonly scheme: string,
  ) {}

  get due(): boolean {
    return this.completions.length + this.failures.length >= FLUSH_EVERY || Date.now() - this.last >= FLUSH_MAX_WAIT_MS;
  }

  async flush(): Promise<void> {
    this.last = Date.now();
    const completions = this.completions.splice(0);
    const failures = this.failures.splice(0);
    if (completions.length) await this.store.complete(this.scheme, completions);
    if (failures.length) await this.store.fail(this.scheme, failures);
  }
}

/**
 * The write pool: `concurrency` writers claim pending items from the store and write them through the
 * target. A record the target rejects (RecordError) becomes a dead letter and the run goes on; a
 * system that is down or refuses the credentials (RetryableError, ConnectorAuthError) puts the item
 * back to pending and stops the run as failed; any other error is a dead letter with reason `internal`.
 * The target id an item was last delivered under comes with it from `claim`.
 */
export class WritePool {
  /** Claimed items not yet started. */
  private readonly buffer: QueueItem[] = [];
  private readonly workers = new Set<Promise<void>>();
  private readonly results: WriteResults;
  /** Settles when the writer gathering a batch now has taken it (see {@link turn}). */
  private gathering: Promise<void> | undefined;
  /** Writes in flight are let finish on a stop: nothing aborts this signal. */
  private readonly writeSignal = new AbortController().signal;

  constructor(private readonly o: WritePoolStage) {
    this.results = new WriteResults(o.store, o.scheme);
    setMaxListeners(0, this.writeSignal);
  }

  /** The target's warm-up, settled (it never rejects): the run waits for it before it ends. */
  warmedUp: Promise<void> = Promise.resolve();

  /**
   * Gets the target's connection ready (BIP's gateway address and token) while the source is read. A
   * refused credential stops the run, even when nothing needs writing; anything else (a network
   * failure) is met again by the first write.
   */
  warmUp(): void {
    const { target, stop, logger } = this.o;
    this.warmedUp = (target.warmUp?.(stop.signal) ?? Promise.resolve()).catch((e: unknown) => {
      if (e instanceof ConnectorAuthError) stop.fail(e);
      else logger.debug(`target warm-up failed; the first write meets it again: ${(e as Error).message}`);
    });
  }

  /** Starts writers up to the concurrency. */
  start(): void {
    while (this.workers.size < this.o.concurrency) {
      const w: Promise<void> = this.worker()
        .catch((e: unknown) => this.o.stop.fail(e))
        .finally(() => this.workers.delete(w));
      this.workers.add(w);
    }
  }

  /** Once the read is over: writes what is pending, including items re-queued while in flight, then saves every result. */
  async drain(): Promise<void> {
    const { flow, stop, store, scheme } = this.o;
    flow.endOfRead();
    for (;;) {
      while (this.workers.size) await Promise.race(this.workers);
      await this.results.flush();
      // Items re-queued while in flight (read again with new content) are written once more.
      if (stop.aborted || (await store.counts(scheme)).pending === 0) break;
      this.start();
    }
    if (this.buffer.length) {
      // Claimed but never started (stopping): back to pending, untouched.
      const stopped = this.buffer.splice(0).map((i) => ({ id: i.id, code: 'stopped', message: 'the run stopped before this write started', dead: false }));
      await store.fail(scheme, stopped);
    }
  }

  private async worker(): Promise<void> {
    const { flow, stop, tally } = this.o;
    const batching = (this.o.batchSize ?? 1) > 1;
    while (!stop.aborted) {
      const stamp = flow.stamp;
      // A batching writer takes its first item only once it is its turn to gather (see turn()).
      const release = batching ? await this.turn() : undefined;
      let items: QueueItem[] | undefined;
      try {
        const item = await this.next();
        // A batching target takes the claimed items waiting beside this one (never more than claimed).
        if (item) items = batching ? await gatherBatch(item, this.o.batchSize ?? 1, { buffer: this.buffer, flow, signal: stop.signal, refill: () => this.refill() }) : [item];
      } finally {
        release?.();
      }
      if (!items) {
        if (flow.readerDone) return;
        await flow.idle(stamp);
        continue;
      }
      try {
        if (batching) await this.writeBatch(items);
        else await this.write(items[0] as QueueItem);
      } finally {
        for (let i = 0; i < items.length; i++) flow.finished();
        tally.progress();
        if (this.results.due) await this.results.flush();
      }
    }
  }

  /**
   * Waits until no other writer is gathering a batch, then makes this one the gatherer until it calls
   * the function returned. Writers gathering side by side would split what the reader enqueues between
   * them, and batches would shrink with the number of writers; taking turns, a batch holds what arrived
   * during a whole linger (and the items no writer has taken yet), while the batches already sent are
   * still written concurrently.
   */
  private async turn(): Promise<() => void> {
    while (this.gathering) await this.gathering;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.gathering = mine;
    return () => {
      if (this.gathering === mine) this.gathering = undefined;
      done();
    };
  }

  /** The next item to write: from the buffer, claiming a batch from the store when it is empty. */
  private async next(): Promise<QueueItem | undefined> {
    if (this.buffer.length === 0) await this.refill();
    return this.buffer.shift();
  }

  /** Claims a batch of pending items from the store into the buffer, when there may be some. */
  private async refill(): Promise<void> {
    const { store, scheme, flow, concurrency } = this.o;
    if (!flow.shouldClaim()) return;
    const claimed = await store.claim(scheme, Math.max(concurrency * 8, 256, concurrency * (this.o.batchSize ?? 1)));
    flow.claimed(claimed.length);
    this.buffer.push(...claimed);
  }

  private async write(item: QueueItem): Promise<void> {
    const payload = item.payload ?? (await this.mapAgain(item));
    if (!payload) return;
    try {
      const ctx = await this.contextOf(item, payload);
      this.completed(item, payload, await this.o.target.write(payload, ctx));
    } catch (e) {
      this.failed(item, e);
    }
  }

  /**
   * The write context of one item, the same for a write alone and in a batch: its id-map entry (id,
   * code), its clears, and the collision check. Throws the `target.key_collision` refusal when another
   * source key holds the payload's business key (the target is then never called for it).
   */
  private async contextOf(item: QueueItem, payload: TargetPayload): Promise<WriteContext> {
    const { keys } = this.o;
    const refused = await keys?.check(item.key, payload);
    if (refused) throw refused;
    return {
      key: item.key,
      knownId: item.knownId ?? undefined,
      knownCode: item.knownCode ?? undefined,
      clears: clearsFor(item.knownFields, payload, this.o.keepWhenEmpty ?? new Set()),
      checkFound: keys?.checkFound(item.key, payload),
      maybeWritten: item.maybeWritten,
      signal: this.writeSignal,
      logger: this.o.logger,
    };
  }

  /** A written item: the id map gets the target's id and code, the business key, and the fields delivered (for clears). */
  private completed(item: QueueItem, payload: TargetPayload, result: WriteResult): void {
    const { keys } = this.o;
    keys?.written(item.key, payload, result);
    this.results.completions.push({
      id: item.id,
      key: item.key,
      fingerprint: item.fingerprint,
      outcome: result.outcome,
      targetId: result.id,
      targetCode: result.targetCode,
      businessKey: keys?.businessKey(payload),
      fields: fieldsOf(payload),
    });
    this.o.tally.written(result.outcome);
  }

  private writeBatch(items: QueueItem[]): Promise<void> {
    const { target } = this.o;
    const writeBatch = target.writeBatch?.bind(target);
    if (!writeBatch) return this.write(items[0] as QueueItem);
    return writeItemsInBatch(items, { writeBatch }, {
      done: (item, payload, result) => this.completed(item, payload, result),
      failed: (item, e) => this.failed(item, e),
      payloadOf: async (item) => item.payload ?? (await this.mapAgain(item)),
      contextOf: (item, payload) => this.contextOf(item, payload),
    });
  }

  /** A record that failed to map earlier and was re-queued: its payload now, or undefined when it is dead again. */
  private async mapAgain(item: QueueItem): Promise<TargetPayload | undefined> {
    const m = await this.o.remap(item);
    if (m.kind === 'dead') {
      this.results.failures.push({ id: item.id, code: m.code, message: m.message, dead: true });
      this.o.tally.dead(m.code, m.message);
      return undefined;
    }
    item.fingerprint = m.fingerprint;
    // The queued item takes the payload, so that its completion (same fingerprint) settles it.
    await this.o.store.enqueue(this.o.scheme, this.o.runId, [{ key: item.key, payload: m.payload, fingerprint: m.fingerprint, cursor: item.cursor ?? undefined }]);
    return m.payload;
  }

  private failed(item: QueueItem, e: unknown): void {
    const { tally, stop, logger } = this.o;
    const failures = this.results.failures;
    if (e instanceof RecordError) {
      const code = e.reason ?? 'record.rejected';
      failures.push({ id: item.id, code, message: e.message, dead: true });
      tally.dead(code, e.message, e.hint);
    } else if (e instanceof RetryableError || e instanceof ConnectorAuthError) {
      // Not the record's fault: it stays queued for the next run, and this run stops.
      const maybeWritten = e instanceof RetryableError && e.outcomeUnknown;
      failures.push({ id: item.id, code: e.reason ?? e.code, message: e.message, dead: false, maybeWritten });
      stop.fail(e);
    } else {
      const message = `unexpected error writing record ${item.key}: ${(e as Error).message}`;
      failures.push({ id: item.id, code: 'internal', message, dead: true });
      tally.dead('internal', message, 'this is a bug in qiao or a connector; run with --debug and report it');
      logger.debug(message, { stack: (e as Error).stack });
    }
  }
}
