import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { InputError, PostgresStateStore, SqliteStateStore, StateError } from '../src/index.js';
import { tempDir } from './helpers.js';
import { backends, durableBackends, postgresBackend, TEST_DATABASE_URL, type DurableState } from './state-backends.js';

const LEASE = { leaseMs: 600, renewEveryMs: 100 };

/** Makes the scheme's lock row look written by a process on another machine (it keeps its token). */
async function moveLockTo(state: DurableState, scheme: string, host: string, pid = 4242): Promise<void> {
  await state.sql('UPDATE locks SET host = ?, pid = ? WHERE scheme = ?', [host, pid, scheme]);
}

async function lockRow(state: DurableState, scheme: string): Promise<{ renewed_at: string; host: string } | undefined> {
  return (await state.sql<{ renewed_at: string; host: string }>('SELECT renewed_at, host FROM locks WHERE scheme = ?', [scheme]))[0];
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

describe.each(durableBackends)('the run lock is a lease (%s)', (_name, backend) => {
  it('takes over, after its lease and not before, a lock whose holder on another host stopped renewing it', async () => {
    const state = await backend.fresh();
    const holder = await state.open({ lease: LEASE });
    await holder.lock('a');
    await moveLockTo(state, 'a', 'pod-7f9c-gone');
    // the holder's machine is gone: nothing renews the lock any more
    await holder.close();
    const lastRenewal = Date.parse((await lockRow(state, 'a'))!.renewed_at);

    const next = await state.open({ lease: LEASE });
    const early = await rejection(next.lock('a'));
    expect(early).toBeInstanceOf(InputError);
    expect(early.message).toMatch(/process 4242 on pod-7f9c-gone/);
    expect(early.message).toMatch(/last renewed .*taken over if not renewed by/);

    const lock = await next.lock('a', { wait: true, timeoutMs: 5_000 });
    // not before the lease ran out, counted from the holder's last renewal (opening a store may take a while on a loaded machine)
    expect(Date.now()).toBeGreaterThanOrEqual(lastRenewal + LEASE.leaseMs - 50);
    expect(lock.tookOver).toMatchObject({ pid: 4242, host: 'pod-7f9c-gone', stale: true });
    expect(await next.lockHolder('a')).toMatchObject({ pid: process.pid, host: hostname(), stale: false });
    await lock.release();
    expect(await next.lockHolder('a')).toBeUndefined();
    await next.close();
  });

  it('respects a live holder on another host, whose heartbeat renews its lease', async () => {
    const state = await backend.fresh();
    const holder = await state.open({ lease: LEASE });
    const held = await holder.lock('a');
    await moveLockTo(state, 'a', 'pod-alive');
    const first = (await lockRow(state, 'a'))!.renewed_at;

    const other = await state.open({ lease: LEASE });
    // three leases long, the lock stays with its holder
    for (let i = 0; i < 6; i++) {
      await sleep(LEASE.leaseMs / 2);
      await expect(other.lock('a')).rejects.toBeInstanceOf(InputError);
    }
    expect((await lockRow(state, 'a'))!.renewed_at > first).toBe(true);
    expect(held.lost?.aborted).toBe(false);

    await held.release();
    await expect(other.lock('a')).resolves.toBeDefined();
    await holder.close();
    await other.close();
  });

  it('takes over at once a lock of this host whose process is gone', async () => {
    const state = await backend.fresh();
    const s = await state.open({ lease: { leaseMs: 60_000, renewEveryMs: 10_000 } });
    await s.lock('a');
    await moveLockTo(state, 'a', hostname(), deadPid());
    const lock = await s.lock('a');
    expect(lock.tookOver).toMatchObject({ host: hostname(), stale: true });
    await lock.release();
    await s.close();
  });

  it('tells the holder when its lock was removed (qiao unlock) or taken over', async () => {
    const state = await backend.fresh();
    const holder = await state.open({ lease: LEASE });
    const held = await holder.lock('a');
    const admin = await state.open();
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
    const state = await backend.fresh();
    const s = await state.open({ lease: LEASE });
    const lock = await s.lock('a');
    await s.close();
    const renewed = (await lockRow(state, 'a'))!.renewed_at;
    await sleep(LEASE.renewEveryMs * 3);
    expect((await lockRow(state, 'a'))!.renewed_at).toBe(renewed);
    await lock.release(); // never rejects, even on a closed store
  });

  it('refuses a lease no longer than its renewal interval', async () => {
    const state = await backend.fresh();
    await expect(state.open({ lease: { leaseMs: 100, renewEveryMs: 100 } })).rejects.toThrow(
      /Expected renewEveryMs > 0 and leaseMs > renewEveryMs, got renewEveryMs 100 and leaseMs 100/,
    );
  });
});

describe.each(backends)('lock holder and unlock (%s)', (_name, make) => {
  it('names the holder, and removes only that holder\'s lock', async () => {
    const s = await make();
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

describe('PostgreSQL state failures are named: which server, database and schema, what to do, never the password', () => {
  it('an unreachable server: state.unavailable naming host:port, without the password', async () => {
    // port 9 (discard): nothing listens there on the test machines
    const e = await rejection(PostgresStateStore.open('postgres://qiao:s3cret-pw@127.0.0.1:9/test?schema=qiao_x', { connectTimeoutMs: 3_000 }));
    expect(e).toBeInstanceOf(StateError);
    expect(e).toMatchObject({ reason: 'state.unavailable', path: 'postgres://qiao:***@127.0.0.1:9/test?schema=qiao_x (schema qiao_x)' });
    expect(e.message).toMatch(/PostgreSQL at 127\.0\.0\.1:9 \(database test, schema qiao_x\) cannot be reached: ECONNREFUSED/);
    expect((e as StateError).hint).toMatch(/accepts connections on 127\.0\.0\.1:9 \(pg_isready -h 127\.0\.0\.1 -p 9\)/);
    expect(JSON.stringify({ m: e.message, h: (e as StateError).hint, p: (e as StateError).path })).not.toContain('s3cret-pw');
  });

  it('a URL that is not a PostgreSQL URL, or a schema name that is not plain: InputError (exit 2), without the password', async () => {
    const notUrl = await rejection(PostgresStateStore.open('127.0.0.1:5432/test'));
    expect(notUrl).toBeInstanceOf(InputError);
    expect(notUrl.message).toMatch(/flag --database: expected a PostgreSQL URL/);
    const mysql = await rejection(PostgresStateStore.open('mysql://root:s3cret-pw@127.0.0.1/test', { source: 'QIAO_DATABASE_URL' }));
    expect(mysql).toBeInstanceOf(InputError);
    expect(mysql.message).toMatch(/QIAO_DATABASE_URL: expected a PostgreSQL URL \(postgres:\/\/ or postgresql:\/\/\), found a mysql:\/\/ URL/);
    const schema = await rejection(PostgresStateStore.open(`${TEST_DATABASE_URL}?schema=Robert'); DROP TABLE x`));
    expect(schema).toBeInstanceOf(InputError);
    expect(schema.message).toMatch(/expected a schema name of lower-case letters, digits and _/);
    expect(mysql.message + notUrl.message).not.toContain('s3cret-pw');
  });

  it('a database that does not exist: state.unavailable with what to do', async () => {
    const e = await rejection(PostgresStateStore.open('postgres://postgres@127.0.0.1:5432/qiao_no_such_db'));
    expect(e).toMatchObject({ reason: 'state.unavailable' });
    expect(e.message).toMatch(/PostgreSQL at 127\.0\.0\.1:5432 has no database qiao_no_such_db/);
    expect((e as StateError).hint).toMatch(/createdb/);
  });

  it('a schema without qiao state, for a command that only looks: state.deleted', async () => {
    const state = await postgresBackend.fresh();
    const e = await rejection(state.open({ create: false }));
    expect(e).toMatchObject({ reason: 'state.deleted' });
    expect(e.message).toMatch(/there is no qiao state in schema qiao_test_\w+ of database test on 127\.0\.0\.1:5432/);
    // and nothing was made
    expect(await state.sql("SELECT to_regclass('qiao_schema_version') AS t")).toEqual([{ t: null }]);
  });

  it('a schema dropped during a run: checkIntact() says so, and the next write fails with state.deleted', async () => {
    const state = await postgresBackend.fresh();
    const s = await state.open();
    await s.enqueue('a', 'r1', [item('k1')]);
    await expect(s.checkIntact()).resolves.toBeUndefined();
    await state.sql(`DROP SCHEMA ${new URL(state.where).searchParams.get('schema')} CASCADE`);
    await expect(s.checkIntact()).rejects.toMatchObject({ reason: 'state.deleted' });
    const e = await rejection(s.enqueue('a', 'r1', [item('k2')]));
    expect(e).toBeInstanceOf(StateError);
    expect(e.message).toMatch(/was dropped \(or replaced\) while this run was using it/);

    // made again by another qiao: not the state this store has been writing
    const t = await state.open();
    await expect(t.checkIntact()).resolves.toBeUndefined();
    await expect(s.checkIntact()).rejects.toMatchObject({ reason: 'state.deleted' });
  });

  it('connections the server drops (restart, network) are replaced: the store goes on, nothing lost', async () => {
    const app = `qiao_test_${process.pid}_${Date.now()}`;
    const state = await postgresBackend.fresh();
    const url = new URL(state.where);
    url.searchParams.set('application_name', app);
    const s = await PostgresStateStore.open(url.toString());
    await s.enqueue('a', 'r1', [item('k1')]);
    await s.counts('a');
    const killed = await state.sql<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = ?', [app]);
    expect(killed.length).toBeGreaterThan(0);
    await sleep(100);
    // the first query after may meet the dead connection: it fails as state.unavailable, never as a crash
    const first = await s.counts('a').catch((e: unknown) => e);
    if (first instanceof Error) expect(first).toMatchObject({ reason: 'state.unavailable' });
    expect(await s.counts('a')).toMatchObject({ pending: 1 });
    await s.close();
  });

  it('a user who may only read: state.read_only', async () => {
    const role = `qiao_ro_${process.pid}_${Date.now() % 100000}`;
    const state = await postgresBackend.fresh();
    const schema = new URL(state.where).searchParams.get('schema')!;
    await (await state.open()).setCursor('a', 'company', 'c1');
    await state.sql(`CREATE ROLE ${role} LOGIN`);
    try {
      await state.sql(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
      await state.sql(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
      const url = new URL(state.where);
      url.username = role;
      const s = await PostgresStateStore.open(url.toString());
      expect(await s.getCursor('a', 'company')).toBe('c1');
      const e = await rejection(s.setCursor('a', 'company', 'c2'));
      expect(e).toMatchObject({ reason: 'state.read_only' });
      expect(e.message).toMatch(new RegExp(`schema ${schema} of database test on 127\\.0\\.0\\.1:5432 cannot be written: permission denied`));
      await s.close();
    } finally {
      await state.sql(`DROP OWNED BY ${role}`);
      await state.sql(`DROP ROLE ${role}`);
    }
  });
});
