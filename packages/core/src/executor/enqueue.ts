import type { EnqueueItem, StateStore } from '../contracts/state-store.js';
import { markUnchanged, type MappedDead, type MappedPayload } from './map.js';
import type { QueueFlow } from './queue-flow.js';
import type { RunTally } from './report.js';

/** A batch is enqueued once it is full or its first record has waited this long. */
const BATCH_MAX_WAIT_MS = 200;
/**
 * ... or, while writers wait for work, once it has waited this long: writers are not kept idle, and a
 * source faster than its writers (the engine benchmark) still gets batches, not a transaction a record.
 */
const IDLE_BATCH_WAIT_MS = 2;

export interface EnqueueStage {
  store: StateStore;
  scheme: string;
  runId: string;
  /** Records mapped and enqueued per transaction. */
  batchSize: number;
  tally: RunTally;
  flow: QueueFlow;
  signal: AbortSignal;
}

/**
 * The enqueue stage: gathers mapped records into batches and makes each batch durable in one
 * transaction before any of it is written. In a batch, a payload unchanged since its last delivery is
 * counted skipped, a key read twice is enqueued once (the later read wins), and a dead record goes
 * straight to dead letters. After a batch, reading waits while too much waits to be written.
 */
export class Enqueuer {
  /**
   * A batch holds records already mapped: the source's record (an OKKI company is ~10 KB of heap) can
   * go at once, rather than live through the batch's wait and be copied by the GC.
   */
  private batch: (MappedPayload | MappedDead)[] = [];
  private batchStarted = 0;

  constructor(private readonly o: EnqueueStage) {}

  /** Adds a mapped record; enqueues the batch when it is due. */
  async add(m: MappedPayload | MappedDead): Promise<void> {
    if (this.batch.length === 0) this.batchStarted = Date.now();
    this.batch.push(m);
    // A slow source (detail calls) should not hold records back from the writers for long.
    const waited = Date.now() - this.batchStarted;
    const due =
      this.batch.length >= this.o.batchSize ||
      waited >= BATCH_MAX_WAIT_MS ||
      (waited >= IDLE_BATCH_WAIT_MS && this.o.flow.idleWriters > 0);
    if (due) await this.flush();
  }

  /** Enqueues what is left once the read is over (not when the run stops). */
  async end(): Promise<void> {
    if (this.batch.length && !this.o.signal.aborted) await this.flush();
  }

  private async flush(): Promise<void> {
    const { store, scheme, runId, tally, flow } = this.o;
    const batch = await markUnchanged(this.batch.splice(0), (keys) => store.delivered(scheme, keys));
    const items: EnqueueItem[] = [];
    const seen = new Map<string, number>();
    for (const m of batch) {
      if (m.kind === 'dead') {
        items.push({ key: m.key, payload: m.payload, source: m.source, fingerprint: '', cursor: m.cursor, dead: { code: m.code, message: m.message } });
        tally.dead(m.code, m.message);
      } else if (m.kind === 'unchanged') {
        tally.counts.skipped++;
      } else if (m.kind === 'write') {
        const item: EnqueueItem = { key: m.key, payload: m.payload, fingerprint: m.fingerprint, cursor: m.cursor };
        // The same key twice in one batch: the later read wins.
        const prev = seen.get(m.key);
        if (prev !== undefined) items[prev] = item;
        else seen.set(m.key, items.push(item) - 1);
      }
    }
    // Durable before any write starts; the write pool claims from the queue.
    if (items.length) await store.enqueue(scheme, runId, items);
    flow.added(seen.size);
    tally.progress();
    await flow.backPressure();
  }
}
