import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LockOptions, RunLock } from '../contracts/state-store.js';
import { lockHeldError } from './lock-error.js';

interface Holder {
  pid: number;
  host: string;
  acquired_at: string;
}

/** How often a run waiting for the lock (`--wait`) looks again. */
const POLL_MS = 250;

/**
 * The run lock of schemes in a SQLite state database: a row per scheme in `locks` naming the process
 * (pid, host) that holds it. A row whose process is gone (same host) is stale and taken over, so a
 * run killed with SIGKILL does not lock its scheme forever; a row from another host is trusted.
 */
export class SqliteRunLock {
  private readonly get;
  private readonly put;
  private readonly del;

  constructor(
    private readonly db: Database.Database,
    /** The state directory, named in the error a second run gets. */
    private readonly dir: string,
  ) {
    this.get = db.prepare<[string], Holder>('SELECT pid, host, acquired_at FROM locks WHERE scheme = ?');
    this.put = db.prepare('INSERT OR REPLACE INTO locks (scheme, pid, host, acquired_at) VALUES (?, ?, ?, ?)');
    this.del = db.prepare('DELETE FROM locks WHERE scheme = ? AND pid = ? AND host = ?');
  }

  async take(scheme: string, options: LockOptions = {}): Promise<RunLock> {
    const started = Date.now();
    const me = { pid: process.pid, host: hostname() };
    // IMMEDIATE: two processes that both find the lock free cannot both take it
    const tryTake = this.db.transaction((): Holder | undefined => {
      const held = this.get.get(scheme);
      if (held && !(held.pid === me.pid && held.host === me.host) && isAlive(held)) return held;
      this.put.run(scheme, me.pid, me.host, new Date().toISOString());
      return undefined;
    });
    for (;;) {
      const holder = tryTake.immediate();
      if (!holder) return this.held(scheme, me);
      if (!options.wait || (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs)) {
        throw lockHeldError(scheme, this.dir, holder);
      }
      await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  private held(scheme: string, me: { pid: number; host: string }): RunLock {
    let released = false;
    return {
      // async, but the row goes before the first await: a caller that closes the store right after
      // `release()` without awaiting it still leaves the lock free
      release: async () => {
        if (released) return;
        released = true;
        try {
          this.del.run(scheme, me.pid, me.host);
        } catch {
          // the database is already closed: the lock dies with the process
        }
      },
    };
  }
}

function isAlive(holder: { pid: number; host: string }): boolean {
  if (holder.host !== hostname()) return true; // another machine: trust the lock
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
