import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LeaseOptions, LockHolder, LockOptions, RunLock } from '../contracts/state-store.js';
import { StateError } from '../errors/errors.js';
import { lockHeldError } from './lock-error.js';
import type { StatePaths } from './state-errors.js';

interface Row {
  pid: number;
  host: string;
  acquired_at: string;
  /** NULL in rows an older qiao (schema v3) wrote: it did not renew. */
  renewed_at: string | null;
  lease_ms: number | null;
  token: string | null;
}

/** How a lock is leased when the store is given no {@link LeaseOptions}. */
export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_RENEW_EVERY_MS = 10_000;

/** How often a run waiting for the lock (`--wait`) looks again. */
const POLL_MS = 250;

/**
 * The run lock of schemes in a SQLite state database: a row per scheme in `locks` naming the process
 * (pid, host) that holds it, when it took it, when it last renewed it and for how long a renewal
 * holds (its lease). The holder renews it every `renewEveryMs`. A row is stale, and the next run
 * takes it over, when its lease ran out (any host: a pod restarted under a new name does not block
 * the scheme) or when its process is gone (this host: at once, so a run killed with SIGKILL does not
 * hold up the next one for a lease).
 */
export class SqliteRunLock {
  private readonly get;
  private readonly put;
  private readonly renew;
  private readonly del;
  private readonly delHolder;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  /** Heartbeats of the locks this process holds, stopped when the store closes. */
  private readonly beats = new Set<() => void>();

  constructor(
    private readonly db: Database.Database,
    /** The state directory and database, named in errors. */
    private readonly paths: StatePaths,
    lease: LeaseOptions = {},
  ) {
    this.leaseMs = lease.leaseMs ?? DEFAULT_LEASE_MS;
    this.renewEveryMs = lease.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS;
    if (!(this.renewEveryMs > 0 && this.leaseMs > this.renewEveryMs)) {
      throw new RangeError(`Expected renewEveryMs > 0 and leaseMs > renewEveryMs, got renewEveryMs ${this.renewEveryMs} and leaseMs ${this.leaseMs}`);
    }
    this.get = db.prepare<[string], Row>('SELECT pid, host, acquired_at, renewed_at, lease_ms, token FROM locks WHERE scheme = ?');
    this.put = db.prepare(
      'INSERT OR REPLACE INTO locks (scheme, pid, host, acquired_at, renewed_at, lease_ms, token) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.renew = db.prepare('UPDATE locks SET renewed_at = ? WHERE scheme = ? AND token = ?');
    this.del = db.prepare('DELETE FROM locks WHERE scheme = ? AND token = ?');
    this.delHolder = db.prepare('DELETE FROM locks WHERE scheme = ? AND pid = ? AND host = ? AND acquired_at = ?');
  }

  async take(scheme: string, options: LockOptions = {}): Promise<RunLock> {
    const started = Date.now();
    const me = { pid: process.pid, host: hostname() };
    const token = randomUUID();
    // IMMEDIATE: two processes that both find the lock free (or stale) cannot both take it
    const tryTake = this.db.transaction((): { held: LockHolder } | { tookOver: LockHolder | undefined } => {
      const row = this.get.get(scheme);
      const now = Date.now();
      const holder = row ? toHolder(scheme, row, now) : undefined;
      // the same process may take its own lock again (as before leases)
      const mine = row !== undefined && row.pid === me.pid && row.host === me.host;
      if (holder && !mine && !holder.stale) return { held: holder };
      const at = new Date(now).toISOString();
      this.put.run(scheme, me.pid, me.host, at, at, this.leaseMs, token);
      return { tookOver: mine ? undefined : holder };
    });
    for (;;) {
      const r = tryTake.immediate();
      if (!('held' in r)) return this.held(scheme, token, r.tookOver);
      if (!options.wait || (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs)) {
        throw lockHeldError(scheme, this.paths.dir, r.held);
      }
      await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  /** Who holds the scheme's lock now. */
  holder(scheme: string): LockHolder | undefined {
    const row = this.get.get(scheme);
    return row ? toHolder(scheme, row, Date.now()) : undefined;
  }

  /** Removes the lock if that holder still holds it. */
  unlock(scheme: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'>): boolean {
    return this.delHolder.run(scheme, holder.pid, holder.host, holder.acquiredAt).changes > 0;
  }

  /** Stops every heartbeat of this process (the store is closing; the rows die with their lease). */
  stopAll(): void {
    for (const stop of [...this.beats]) stop();
  }

  private held(scheme: string, token: string, tookOver: LockHolder | undefined): RunLock {
    const lost = new AbortController();
    let released = false;
    const beat = setInterval(() => {
      if (!this.db.open) return stop();
      let changes: number;
      try {
        changes = this.renew.run(new Date().toISOString(), scheme, token).changes;
      } catch {
        // busy or disk full: the next beat tries again; the run's own writes report the failure
        return;
      }
      if (changes > 0) return;
      stop();
      let now: LockHolder | undefined;
      try {
        now = this.holder(scheme);
      } catch {
        now = undefined;
      }
      lost.abort(
        new StateError(
          `the run lock of scheme ${scheme} in ${this.paths.dir} was ${now ? `taken over by process ${now.pid} on ${now.host} at ${now.acquiredAt}` : 'removed (qiao unlock)'} while this run held it`,
          {
            reason: 'state.lock_lost',
            path: this.paths.file,
            hint: `this run did not renew its lock within ${this.leaseMs / 1000} s (was the process stopped, or the machine suspended?); check \`qiao runs ${scheme}\`, let the other run finish, then run again`,
          },
        ),
      );
    }, this.renewEveryMs);
    // the heartbeat must not keep a finished process alive
    beat.unref();
    const stop = () => {
      clearInterval(beat);
      this.beats.delete(stop);
    };
    this.beats.add(stop);
    return {
      lost: lost.signal,
      ...(tookOver ? { tookOver } : {}),
      // async, but the row goes before the first await: a caller that closes the store right after
      // `release()` without awaiting it still leaves the lock free
      release: async () => {
        if (released) return;
        released = true;
        stop();
        try {
          if (this.db.open) this.del.run(scheme, token);
        } catch {
          // the database cannot be written: the lock goes stale when its lease runs out
        }
      },
    };
  }
}

function toHolder(scheme: string, row: Row, now: number): LockHolder {
  const leaseMs = row.lease_ms ?? DEFAULT_LEASE_MS;
  const renewedAt = row.renewed_at ?? row.acquired_at;
  const expires = Date.parse(renewedAt) + leaseMs;
  const gone = row.host === hostname() && !isAlive(row.pid);
  return {
    scheme,
    pid: row.pid,
    host: row.host,
    acquiredAt: row.acquired_at,
    renewedAt,
    leaseMs,
    expiresAt: new Date(expires).toISOString(),
    // an unreadable time (hand-edited row) counts as expired rather than as a lock held forever
    stale: gone || !(now <= expires),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
