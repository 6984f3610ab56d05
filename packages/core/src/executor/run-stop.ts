import { setMaxListeners } from 'node:events';

/**
 * Why and when a run stops: the user's signal (a graceful stop) or the first fatal error. Reading and
 * new writes stop on {@link signal}; writes in flight finish.
 */
export class RunStop {
  /** The first error that stopped the run, if any. */
  fatal: unknown = undefined;
  private readonly controller = new AbortController();
  private readonly onAbort = () => this.controller.abort();

  constructor(private readonly outer?: AbortSignal) {
    // Every queued request of a run listens on this signal; that is expected, not a leak.
    setMaxListeners(0, this.controller.signal);
    outer?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** The user asked the run to stop. */
  get stoppedByUser(): boolean {
    return this.outer?.aborted ?? false;
  }

  /**
   * Stops the run with an error; the first one is the one reported. An abort error once the user
   * stopped the run is the stop itself (a read or a wait cut short), not an error: the run is cancelled.
   */
  fail(e: unknown): void {
    if (this.stoppedByUser && this.isAbort(e)) {
      this.controller.abort();
      return;
    }
    if (this.fatal === undefined) this.fatal = e;
    this.controller.abort();
  }

  private isAbort(e: unknown): boolean {
    if (e === this.outer?.reason || e === this.controller.signal.reason) return true;
    const name = (e as { name?: unknown } | null)?.name;
    return name === 'AbortError' || (e as { code?: unknown } | null)?.code === 'ABORT_ERR';
  }

  dispose(): void {
    this.outer?.removeEventListener('abort', this.onAbort);
  }
}
