/**
 * What the enqueue stage and the write pool share: how many items wait to be written, whether the
 * read is over, and who waits for whom. Reading pauses while more than `maxQueued` items wait
 * (back-pressure) and goes on once half of them are written; writers with nothing to do wait for the
 * next batch.
 */
export class QueueFlow {
  /** Items enqueued by this run (or resumed) and not yet finished. */
  outstanding = 0;
  /** Writers waiting for work: a batch is enqueued early rather than keep them waiting. */
  idleWriters = 0;
  /** No more items will be enqueued by this run. */
  readerDone: boolean;
  /** Pending items this process knows of: claiming only then saves a write transaction per empty poll. */
  private knownPending = 0;
  /** Counts the wake-ups, so that a writer does not sleep through one that came while it was claiming. */
  private generation = 0;
  private wake: (() => void) | undefined;
  private wakePromise: Promise<void> | undefined;
  private releaseReader: (() => void) | undefined;

  constructor(
    private readonly maxQueued: number,
    private readonly signal: AbortSignal,
    readerDone = false,
  ) {
    this.readerDone = readerDone;
    signal.addEventListener('abort', () => this.notify(), { once: true });
  }

  /** `n` items went pending (enqueued, or left by an earlier run): writers wake up. */
  added(n: number): void {
    this.outstanding += n;
    this.knownPending += n;
    this.notify();
  }

  /** Whether a writer with an empty buffer should claim from the store. */
  shouldClaim(): boolean {
    return this.knownPending > 0 || this.readerDone;
  }

  claimed(n: number): void {
    this.knownPending = Math.max(0, this.knownPending - n);
  }

  /** An item is written, dead, or back to pending: reading goes on once half the queue is written. */
  finished(): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    if (this.outstanding <= this.maxQueued / 2) this.letReaderGo();
  }

  /** The read is over: writers drain the queue and return. */
  endOfRead(): void {
    this.readerDone = true;
    this.notify();
  }

  /** A stamp to pass to {@link idle}: taken before a writer looks for work. */
  get stamp(): number {
    return this.generation;
  }

  /** A writer found nothing: it waits for the next batch (unless one came since `stamp`), and the reader goes on. */
  async idle(stamp: number): Promise<void> {
    // Nothing left to write: let the reader go on whatever the count says.
    this.outstanding = 0;
    this.letReaderGo();
    if (stamp !== this.generation || this.signal.aborted) return;
    this.idleWriters++;
    try {
      await (this.wakePromise ??= new Promise<void>((r) => (this.wake = r)));
    } finally {
      this.idleWriters--;
    }
  }

  /** Back-pressure: the reader waits while more than `maxQueued` items wait to be written. */
  async backPressure(): Promise<void> {
    if (this.outstanding <= this.maxQueued || this.signal.aborted) return;
    await new Promise<void>((r) => {
      this.releaseReader = r;
      this.signal.addEventListener('abort', () => r(), { once: true });
    });
  }

  private notify(): void {
    this.generation++;
    const w = this.wake;
    this.wake = undefined;
    this.wakePromise = undefined;
    w?.();
  }

  private letReaderGo(): void {
    const r = this.releaseReader;
    this.releaseReader = undefined;
    r?.();
  }
}
