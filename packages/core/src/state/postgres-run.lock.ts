import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { LeaseOptions, LockHolder, LockOptions, RunLock } from '../contracts/state-store.js';
import { StateError } from '../errors/errors.js';
import { lockHeldError } from './lock-error.js';
import { placeOf, type PgTarget } from './postgres-errors.js';
import { withClient } from './postgres-queue.js';
import { DEFAULT_LEASE_MS, DEFAULT_RENEW_EVERY_MS } from './sqlite-run.lock.js';

interface Row {
  pid: number;
  host: string;
  acquired_at: Date;
  renewed_at: Date;
  lease_ms: number;
  token: string;
  /** The server's clock when the row was read. */
  now: Date;
}

/** How often a run waiting for the lock (`--wait`) looks again. */
const POLL_MS = 250;

/** Times are kept to the millisecond, so that an ISO string read back names the row it came from. */
const NOW = "date_trunc('milliseconds', clock_timestamp())";

/**
 * The run lock of schemes in a PostgreSQL state: a row per scheme in `locks`, with the semantics of
 * the SQLite store's (sqlite-run.lock.ts) — a lease the holder renews every `renewEveryMs`, taken over
 * when it was not renewed within its lease (any host) or when its holder is a process of this host that
 * is gone. Here the lease is measured by the PostgreSQL server's clock (renewals and the check both use
 * it), so the clocks of the hosts running qiao need not agree. Two runs that find a lock free or stale
 * at once are serialized by the row lock (`SELECT … FOR UPDATE`) or the primary key.
 */
export class PgRunLock {
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  /** Heartbeats of the locks this process holds, stopped when the store closes. */
  private readonly beats = new Set<() => void>();
  /** Releases under way, awaited by {@link stopAll} before the pool ends. */
  private readonly releasing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly target: PgTarget,
    lease: LeaseOptions = {},
  ) {
    this.leaseMs = lease.leaseMs ?? DEFAULT_LEASE_MS;
    this.renewEveryMs = lease.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS;
    if (!(this.renewEveryMs > 0 && this.leaseMs > this.renewEveryMs)) {
      throw new RangeError(`Expected renewEveryMs > 0 and leaseMs > renewEveryMs, got renewEveryMs ${this.renewEveryMs} and leaseMs ${this.leaseMs}`);
    }
  }

  async take(scheme: string, options: LockOptions = {}): Promise<RunLock> {
    const started = Date.now();
    const me = { pid: process.pid, host: hostname() };
    const token = randomUUID();
    for (;;) {
      const r = await this.tryTake(scheme, me, token);
      // another run inserted the first row just now: look again
      if (r === undefined) continue;
      if (!('held' in r)) return this.held(scheme, token, r.tookOver);
      if (!options.wait || (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs)) {
        throw lockHeldError(scheme, placeOf(this.target), r.held);
      }
      await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  private async tryTake(scheme: string, me: { pid: number; host: string }, token: string): Promise<{ held: LockHolder } | { tookOver: LockHolder | undefined } | undefined> {
    return withClient(this.pool, async (client) => {
      await client.query('BEGIN');
      try {
        const row = (
          await client.query<Row>('SELECT pid, host, acquired_at, renewed_at, lease_ms, token, clock_timestamp() AS now FROM locks WHERE scheme = $1 FOR UPDATE', [scheme])
        ).rows[0];
        const holder = row ? toHolder(scheme, row) : undefined;
        // the same process may take its own lock again (as the SQLite store allows)
        const mine = row !== undefined && row.pid === me.pid && row.host === me.host;
        if (holder && !mine && !holder.stale) {
          await client.query('ROLLBACK');
          return { held: holder };
        }
        // no row: two takers may both get here; the primary key lets one insert, the other looks again
        const put = await client.query(
          `INSERT INTO locks (scheme, pid, host, acquired_at, renewed_at, lease_ms, token) VALUES ($1, $2, $3, ${NOW}, ${NOW}, $4, $5)
           ON CONFLICT (scheme) DO UPDATE SET pid = excluded.pid, host = excluded.host, acquired_at = excluded.acquired_at,
             renewed_at = excluded.renewed_at, lease_ms = excluded.lease_ms, token = excluded.token
           WHERE locks.token = $6`,
          [scheme, me.pid, me.host, this.leaseMs, token, row?.token ?? null],
        );
        await client.query('COMMIT');
        if (put.rowCount === 0) return undefined;
        return { tookOver: mine ? undefined : holder };
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /** Who holds the scheme's lock now. */
  async holder(scheme: string): Promise<LockHolder | undefined> {
    const row = (await this.pool.query<Row>('SELECT pid, host, acquired_at, renewed_at, lease_ms, token, clock_timestamp() AS now FROM locks WHERE scheme = $1', [scheme])).rows[0];
    return row ? toHolder(scheme, row) : undefined;
  }

  /** Removes the lock if that holder still holds it. */
  async unlock(scheme: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'>): Promise<boolean> {
    const at = Date.parse(holder.acquiredAt);
    if (Number.isNaN(at)) return false;
    const r = await this.pool.query('DELETE FROM locks WHERE scheme = $1 AND pid = $2 AND host = $3 AND acquired_at = $4', [scheme, holder.pid, holder.host, new Date(at)]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Stops every heartbeat of this process and waits for releases under way (the store is closing). */
  async stopAll(): Promise<void> {
    this.closed = true;
    for (const stop of [...this.beats]) stop();
    await Promise.all([...this.releasing]);
  }

  private held(scheme: string, token: string, tookOver: LockHolder | undefined): RunLock {
    const lost = new AbortController();
    let released = false;
    let busy = false;
    const beat = setInterval(() => {
      if (this.closed) return stop();
      // a renewal slower than the interval (a loaded server) is not doubled
      if (busy) return;
      busy = true;
      void this.renew(scheme, token)
        .then(async (renewed) => {
          if (renewed !== false || released || this.closed) return;
          stop();
          let now: LockHolder | undefined;
          try {
            now = await this.holder(scheme);
          } catch {
            now = undefined;
          }
          lost.abort(
            new StateError(
              `the run lock of scheme ${scheme} in ${placeOf(this.target)} was ${now ? `taken over by process ${now.pid} on ${now.host} at ${now.acquiredAt}` : 'removed (qiao unlock)'} while this run held it`,
              {
                reason: 'state.lock_lost',
                path: placeOf(this.target),
                hint: `this run did not renew its lock within ${this.leaseMs / 1000} s (was the process stopped, or PostgreSQL out of reach?); check \`qiao runs ${scheme}\`, let the other run finish, then run again`,
              },
            ),
          );
        })
        .finally(() => {
          busy = false;
        });
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
      release: async () => {
        if (released) return;
        released = true;
        stop();
        const p = this.pool
          .query('DELETE FROM locks WHERE scheme = $1 AND token = $2', [scheme, token])
          .then(
            () => undefined,
            // PostgreSQL cannot be reached, or the store closed: the lock goes stale when its lease runs out
            () => undefined,
          );
        this.releasing.add(p);
        await p;
        this.releasing.delete(p);
      },
    };
  }

  /** Renews the lease: `true` renewed, `false` the row is gone or another's, `undefined` PostgreSQL did not answer (the next beat tries again). */
  private async renew(scheme: string, token: string): Promise<boolean | undefined> {
    try {
      const r = await this.pool.query(`UPDATE locks SET renewed_at = ${NOW} WHERE scheme = $1 AND token = $2`, [scheme, token]);
      return (r.rowCount ?? 0) > 0;
    } catch {
      return undefined;
    }
  }
}

function toHolder(scheme: string, row: Row): LockHolder {
  const expires = row.renewed_at.getTime() + row.lease_ms;
  const gone = row.host === hostname() && !isAlive(row.pid);
  return {
    scheme,
    pid: row.pid,
    host: row.host,
    acquiredAt: row.acquired_at.toISOString(),
    renewedAt: row.renewed_at.toISOString(),
    leaseMs: row.lease_ms,
    expiresAt: new Date(expires).toISOString(),
    // measured by the server's clock, which wrote renewed_at
    stale: gone || !(row.now.getTime() <= expires),
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
