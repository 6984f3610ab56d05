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

  /** Stops the run with an error; the first one is the one reported. */
  fail(e: unknown): void {
    if (this.fatal === undefined) this.fatal = e;
    this.controller.abort();
  }

  dispose(): void {
    this.outer?.removeEventListener('abort', this.onAbort);
  }
}
