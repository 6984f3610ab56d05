import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeState, InputError, openStateStore, PostgresStateStore, SqliteStateStore } from '../src/index.js';
import { tempDir } from './helpers.js';
import { testDatabaseUrl } from './state-backends.js';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('openStateStore: SQLite by default, PostgreSQL for a database URL', () => {
  it('opens SQLite in the state directory without a database URL', async () => {
    const dir = tempDir('qiao-open-');
    const s = await openStateStore({ stateDir: dir, env: {} });
    expect(s).toBeInstanceOf(SqliteStateStore);
    expect((s as SqliteStateStore).file).toBe(join(dir, 'state.db'));
    await s.close();
    expect(describeState({ stateDir: dir, env: {} })).toBe(dir);
  });

  it('opens PostgreSQL for --database, or QIAO_DATABASE_URL unless --state names a directory', async () => {
    const url = testDatabaseUrl();
    const byFlag = await openStateStore({ database: url, env: {} });
    expect(byFlag).toBeInstanceOf(PostgresStateStore);
    await byFlag.setCursor('a', 'company', 'c1');
    await byFlag.close();

    const byEnv = await openStateStore({ env: { QIAO_DATABASE_URL: url }, create: false });
    expect(byEnv).toBeInstanceOf(PostgresStateStore);
    expect(await byEnv.getCursor('a', 'company')).toBe('c1');
    await byEnv.close();

    // a flag beats the environment
    const dir = tempDir('qiao-open-env-');
    const local = await openStateStore({ stateDir: dir, env: { QIAO_DATABASE_URL: url } });
    expect(local).toBeInstanceOf(SqliteStateStore);
    await local.close();
  });

  it('refuses --database with --state, and a URL that is not PostgreSQL, as bad input (exit 2)', async () => {
    await expect(openStateStore({ database: testDatabaseUrl(), stateDir: tempDir(), env: {} })).rejects.toThrow(/flags --database and --state: expected one place for the state, found both/);
    const e = await rejection(openStateStore({ env: { QIAO_DATABASE_URL: 'redis://:pw-123456@127.0.0.1:6379' } }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/QIAO_DATABASE_URL: expected a PostgreSQL URL/);
    expect(e.message).not.toContain('pw-123456');
  });

  it('names a PostgreSQL state by its URL without the password, and its schema', () => {
    expect(describeState({ database: 'postgres://qiao:s3cret@db.internal:5433/integration?schema=tenant_7', env: {} })).toBe(
      'postgres://qiao:***@db.internal:5433/integration?schema=tenant_7 (schema tenant_7)',
    );
    expect(describeState({ env: { QIAO_DATABASE_URL: 'postgres://db.internal/integration' } })).toBe('postgres://db.internal/integration (schema qiao)');
  });
});

describe('the PostgreSQL run lock across processes', () => {
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

  /** Another qiao process on this host: opens the state, takes the scheme's lock, and holds it until killed. */
  function holder(url: string): Promise<{ pid: number; kill: () => void }> {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(dist)}); const s = await m.PostgresStateStore.open(${JSON.stringify(url)}); await s.lock('a'); console.log('locked'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return new Promise((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve({ pid: child.pid!, kill: () => child.kill('SIGKILL') }));
      child.on('exit', (code) => reject(new Error(`the lock holder exited with ${code} (it runs the built core: npx tsc -b first)`)));
    });
  }

  it('refuses a second run while another process holds the lock, and takes it over at once when that process is killed', async () => {
    const url = testDatabaseUrl();
    const other = await holder(url);
    const s = await PostgresStateStore.open(url);
    try {
      const refused = await rejection(s.lock('a'));
      expect(refused).toBeInstanceOf(InputError);
      expect(refused.message).toMatch(new RegExp(`a run by process ${other.pid} on `));
      expect(refused.message).toMatch(/postgres:\/\/postgres@127\.0\.0\.1:5432\/test\?schema=qiao_test_\w+ \(schema qiao_test_\w+\)/);
      expect(await s.lockHolder('a')).toMatchObject({ pid: other.pid, stale: false });
      other.kill();
      await expect.poll(async () => (await s.lockHolder('a'))?.stale, { timeout: 10_000 }).toBe(true);
      const lock = await s.lock('a');
      expect(lock.tookOver).toMatchObject({ pid: other.pid, stale: true });
      await lock.release();
    } finally {
      other.kill();
      await s.close();
    }
  });
});
