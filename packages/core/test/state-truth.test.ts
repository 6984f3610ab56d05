import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { InputError, MemoryStateStore, SqliteStateStore, StateError } from '../src/index.js';
import { tempDir } from './helpers.js';

const LEASE = { leaseMs: 600, renewEveryMs: 100 };

/** Makes the scheme's lock row look written by a process on another machine (it keeps its token). */
function moveLockTo(store: SqliteStateStore, scheme: string, host: string, pid = 4242): void {
  store.db.prepare('UPDATE locks SET host = ?, pid = ? WHERE scheme = ?').run(host, pid, scheme);
}

function lockRow(store: SqliteStateStore, scheme: string): { renewed_at: string; host: string } | undefined {
  return store.db.prepare('SELECT renewed_at, host FROM locks WHERE scheme = ?').get(scheme) as { renewed_at: string; host: string } | undefined;
}

/** A pid no process has: one that just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

function item(key: string) {
  return { key, payload: { code: key, note: 'x'.repeat(2000) }, fingerprint: `f-${key}` };
}

describe('the run lock is a lease', () => {
  it('takes over, after its lease and not before, a lock whose holder on another host stopped renewing it', async () => {
    const dir = tempDir('qiao-lease-');
    const holder = new SqliteStateStore(dir, { lease: LEASE });
    await holder.lock('a');
    moveLockTo(holder, 'a', 'pod-7f9c-gone');
    // the holder's machine is gone: nothing renews the lock any more
    await holder.close();

    const next = new SqliteStateStore(dir, { lease: LEASE });
    const started = Date.now();
    const early = await rejection(next.lock('a'));
    expect(early).toBeInstanceOf(InputError);
    expect(early.message).toMatch(/process 4242 on pod-7f9c-gone/);
    expect(early.message).toMatch(/last renewed .*taken over if not renewed by/);

    const lock = await next.lock('a', { wait: true, timeoutMs: 5_000 });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(LEASE.leaseMs - 50);
    expect(lock.tookOver).toMatchObject({ pid: 4242, host: 'pod-7f9c-gone', stale: true });
    expect(await next.lockHolder('a')).toMatchObject({ pid: process.pid, host: hostname(), stale: false });
    await lock.release();
    expect(await next.lockHolder('a')).toBeUndefined();
    await next.close();
  });

  it('respects a live holder on another host, whose heartbeat renews its lease', async () => {
    const dir = tempDir('qiao-lease-live-');
    const holder = new SqliteStateStore(dir, { lease: LEASE });
    const held = await holder.lock('a');
    moveLockTo(holder, 'a', 'pod-alive');
    const first = lockRow(holder, 'a')!.renewed_at;

    const other = new SqliteStateStore(dir, { lease: LEASE });
    // three leases long, the lock stays with its holder
    for (let i = 0; i < 6; i++) {
      await sleep(LEASE.leaseMs / 2);
      await expect(other.lock('a')).rejects.toBeInstanceOf(InputError);
    }
    expect(lockRow(holder, 'a')!.renewed_at > first).toBe(true);
    expect(held.lost?.aborted).toBe(false);

    await held.release();
    await expect(other.lock('a')).resolves.toBeDefined();
    await holder.close();
    await other.close();
  });

  it('takes over at once a lock of this host whose process is gone', async () => {
    const dir = tempDir('qiao-lease-dead-');
    const s = new SqliteStateStore(dir, { lease: { leaseMs: 60_000, renewEveryMs: 10_000 } });
    await s.lock('a');
    moveLockTo(s, 'a', hostname(), deadPid());
    const lock = await s.lock('a');
    expect(lock.tookOver).toMatchObject({ host: hostname(), stale: true });
    await lock.release();
    await s.close();
  });

  it('tells the holder when its lock was removed (qiao unlock) or taken over', async () => {
    const dir = tempDir('qiao-lease-lost-');
    const holder = new SqliteStateStore(dir, { lease: LEASE });
    const held = await holder.lock('a');
    const admin = new SqliteStateStore(dir);
    const h = (await admin.lockHolder('a'))!;
    expect(h).toMatchObject({ pid: process.pid, host: hostname(), leaseMs: LEASE.leaseMs, stale: false });
    expect(await admin.unlock('a', { ...h, acquiredAt: '2000-01-01T00:00:00.000Z' })).toBe(false);
    expect(await admin.unlock('a', h)).toBe(true);
    await new Promise((r) => held.lost!.addEventListener('abort', r, { once: true }));
    expect(held.lost!.reason).toBeInstanceOf(StateError);
    expect((held.lost!.reason as StateError).reason).toBe('state.lock_lost');
    expect((held.lost!.reason as StateError).message).toMatch(/removed \(qiao unlock\)/);
    await held.release();
    await holder.close();
    await admin.close();
  });

  it('stops renewing once released or closed', async () => {
    const dir = tempDir('qiao-lease-stop-');
    const s = new SqliteStateStore(dir, { lease: LEASE });
    const lock = await s.lock('a');
    await s.close();
    const after = new SqliteStateStore(dir);
    const renewed = lockRow(after, 'a')!.renewed_at;
    await sleep(LEASE.renewEveryMs * 3);
    expect(lockRow(after, 'a')!.renewed_at).toBe(renewed);
    await lock.release(); // never rejects, even on a closed store
    await after.close();
  });
});

describe('lock holder and unlock, in every store', () => {
  for (const [name, make] of [
    ['sqlite', () => new SqliteStateStore(tempDir('qiao-holder-'))],
    ['memory', () => new MemoryStateStore()],
  ] as const) {
    it(`${name}: names the holder, and removes only that holder's lock`, async () => {
      const s = make();
      expect(await s.lockHolder('a')).toBeUndefined();
      const lock = await s.lock('a');
      const h = (await s.lockHolder('a'))!;
      expect(h).toMatchObject({ scheme: 'a', pid: process.pid, stale: false });
      expect(Date.parse(h.acquiredAt)).toBeGreaterThan(Date.now() - 5_000);
      expect(await s.unlock('a', { ...h, pid: h.pid + 1 })).toBe(false);
      expect(await s.unlock('a', h)).toBe(true);
      expect(await s.lockHolder('a')).toBeUndefined();
      await lock.release();
      await expect(s.checkIntact()).resolves.toBeUndefined();
      await s.close();
    });
  }

  it('refuses a lease no longer than its renewal interval', () => {
    expect(() => new SqliteStateStore(tempDir('qiao-lease-bad-'), { lease: { leaseMs: 100, renewEveryMs: 100 } })).toThrow(
      /Expected renewEveryMs > 0 and leaseMs > renewEveryMs, got renewEveryMs 100 and leaseMs 100/,
    );
  });
});

describe('state failures are named: what happened, which path, what to do', () => {
  it('a full disk: SQLITE_FULL becomes state.full, and what was delivered stays', async () => {
    const dir = tempDir('qiao-full-');
    const s = new SqliteStateStore(dir);
    await s.enqueue('a', 'r1', [item('k1')]);
    const [claimed] = await s.claim('a', 1);
    await s.complete('a', [{ id: claimed!.id, key: 'k1', fingerprint: 'f-k1', outcome: 'inserted', targetId: 'T1' }]);
    // the database may not grow by one more page: what a full disk does to SQLite
    s.db.pragma(`max_page_count = ${s.db.pragma('page_count', { simple: true }) as number}`);
    const e = await rejection(s.enqueue('a', 'r2', Array.from({ length: 50 }, (_, i) => item(`n${i}`))));
    expect(e).toBeInstanceOf(StateError);
    expect(e).toMatchObject({ reason: 'state.full', code: 'QIAO_STATE', path: join(dir, 'state.db') });
    expect(e.message).toContain(join(dir, 'state.db'));
    expect(e.message).toMatch(/disk .* is full/);
    expect((e as StateError).hint).toMatch(/free space/);
    await s.close();
    const again = new SqliteStateStore(dir);
    expect((await again.delivered('a', ['k1'])).get('k1')).toMatchObject({ targetId: 'T1' });
    expect(await again.counts('a')).toMatchObject({ pending: 0, done: 1 });
    await again.close();
  });

  it('a read-only database: SQLITE_READONLY becomes state.read_only', async () => {
    const dir = tempDir('qiao-ro-');
    const s = new SqliteStateStore(dir);
    // tests run as root, for whom chmod does not stop writes: SQLite's own switch answers as a read-only file does
    s.db.pragma('query_only = 1');
    const e = await rejection(s.setCursor('a', 'records', 'x'));
    expect(e).toMatchObject({ reason: 'state.read_only', path: dir });
    expect(e.message).toContain(dir);
    expect((e as StateError).hint).toMatch(/write access/);
    await expect(s.lock('a')).rejects.toMatchObject({ reason: 'state.read_only' });
    await s.close();
  });

  it.skipIf(process.getuid?.() === 0)('a read-only state directory (chmod, for a user other than root)', async () => {
    const dir = tempDir('qiao-ro-dir-');
    await new SqliteStateStore(dir).close();
    chmodSync(join(dir, 'state.db'), 0o444);
    chmodSync(dir, 0o555);
    try {
      expect(() => new SqliteStateStore(dir)).toThrow(expect.objectContaining({ reason: 'state.read_only' }));
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('a state directory deleted before opening: state.deleted when the command must not create one', () => {
    const dir = join(tempDir('qiao-gone-'), 'state');
    expect(() => new SqliteStateStore(dir, { create: false })).toThrow(expect.objectContaining({ reason: 'state.deleted', path: dir }));
    expect(() => new SqliteStateStore(dir, { create: false })).toThrow(/there is no state at/);
  });

  it('a state database deleted or replaced during a run: checkIntact() says so', async () => {
    const dir = tempDir('qiao-deleted-');
    const s = new SqliteStateStore(dir);
    await s.enqueue('a', 'r1', [item('k1')]);
    await expect(s.checkIntact()).resolves.toBeUndefined();
    rmSync(dir, { recursive: true });
    // SQLite writes on to the deleted file without a word
    await expect(s.enqueue('a', 'r1', [item('k2')])).resolves.toBeUndefined();
    const e = await rejection(s.checkIntact());
    expect(e).toMatchObject({ reason: 'state.deleted', path: join(dir, 'state.db') });
    expect(e.message).toMatch(/was deleted \(or replaced\) while this run was using it/);

    // made again by someone else: not the file this store has been writing
    const t = new SqliteStateStore(dir);
    await expect(t.checkIntact()).resolves.toBeUndefined();
    await expect(s.checkIntact()).rejects.toMatchObject({ reason: 'state.deleted' });
    await s.close();
    await t.close();
  });

  it('a corrupt database: garbage instead of state.db is state.corrupt', async () => {
    const dir = tempDir('qiao-garbage-');
    writeFileSync(join(dir, 'state.db'), 'this is not a database '.repeat(500));
    expect(() => new SqliteStateStore(dir)).toThrow(expect.objectContaining({ reason: 'state.corrupt', path: join(dir, 'state.db') }));
    expect(() => new SqliteStateStore(dir)).toThrow(/state\.db is corrupt/);
  });

  it('a corrupt database: a damaged page is found by the integrity check when the store opens', async () => {
    const dir = tempDir('qiao-corrupt-');
    const file = join(dir, 'state.db');
    const s = new SqliteStateStore(dir);
    await s.enqueue('a', 'r1', Array.from({ length: 40 }, (_, i) => item(`k${i}`)));
    await s.close();
    // damage a b-tree page of the queue (the header says what it is; the rest is left alone)
    const db = new Database(file);
    const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'queue_status'").get() as { rootpage: number }).rootpage;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (root - 1) * pageSize + 8);
    closeSync(fd);
    expect(readFileSync(file).subarray(0, 15).toString()).toBe('SQLite format 3');
    expect(() => new SqliteStateStore(dir)).toThrow(expect.objectContaining({ reason: 'state.corrupt' }));
  });
});
