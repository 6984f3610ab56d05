/** A token and how long it lives. */
export interface IssuedToken {
  token: string;
  /** Lifetime in milliseconds from when it was issued. */
  expiresInMs: number;
}

export interface TokenCacheOptions {
  /** Refresh this long before the recorded expiry. @default 300000 (5 minutes) */
  refreshBeforeMs?: number;
  now?: () => number;
}

/**
 * Caches a token until shortly before it expires, and makes sure that at most one token request is in
 * flight: every caller that finds the token missing, stale, or refused waits for the same refresh.
 */
export class TokenCache {
  private current: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private issuedCount = 0;
  private readonly refreshBeforeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly issue: () => Promise<IssuedToken>,
    options: TokenCacheOptions = {},
  ) {
    this.refreshBeforeMs = options.refreshBeforeMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /** The cached token while it is fresh, without waiting; `undefined` when {@link get} would ask for one. */
  peek(): string | undefined {
    const c = this.current;
    return c && this.inflight === undefined && this.now() < c.refreshAt ? c.token : undefined;
  }

  /** The cached token, or a fresh one when there is none or it is about to expire. */
  async get(): Promise<string> {
    const c = this.current;
    if (c && this.now() < c.refreshAt) return c.token;
    return this.refresh(c?.token);
  }

  /**
   * Replaces `stale` (the token a request was refused with). If another caller already replaced it,
   * returns that newer token instead of asking again; concurrent callers share one request.
   */
  async refresh(stale?: string): Promise<string> {
    if (this.inflight) return this.inflight;
    if (this.current && stale !== undefined && this.current.token !== stale) return this.current.token;
    this.inflight = (async () => {
      try {
        const issued = await this.issue();
        this.issuedCount++;
        // A short-lived token is refreshed at 90% of its life rather than never being fresh.
        const margin = Math.min(this.refreshBeforeMs, issued.expiresInMs * 0.1);
        this.current = { token: issued.token, refreshAt: this.now() + issued.expiresInMs - margin };
        return issued.token;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  /** Tokens issued so far (tests and reports). */
  get issued(): number {
    return this.issuedCount;
  }
}
