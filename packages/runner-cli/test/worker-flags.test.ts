import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { qiao, tempDir } from './helpers.js';

const env = { QIAO_REDIS_URL: '', QIAO_DATABASE_URL: '', QIAO_STATE_DIR: '' };

describe('qiao worker and serve --redis: what they need, said clearly', () => {
  const dir = join(tempDir('qiao-worker-flags-'), 'schemes');
  mkdirSync(dir);
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    await admin.query('DROP SCHEMA IF EXISTS qiao_unused_flags CASCADE');
    await admin.end();
  });

  it('qiao worker without Redis says which flag and what to do', async () => {
    const r = await qiao(['worker', '--schemes', dir, '--database', 'postgres://postgres@127.0.0.1:5432/test?schema=qiao_unused'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--redis');
    expect(r.stderr).toContain('QIAO_REDIS_URL');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a worker needs the shared state in PostgreSQL, not a SQLite state of one machine', async () => {
    for (const args of [['worker'], ['serve', '--port', '0']]) {
      const r = await qiao([...args, '--schemes', dir, '--redis', 'redis://127.0.0.1:6379'], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('--database');
      expect(r.stderr).toContain('the same for every worker');
    }
  });

  it('Redis out of reach: the worker names it, with the password hidden, and says what to do', async () => {
    const r = await qiao(['worker', '--schemes', dir, '--redis', 'redis://:hunter2-redis-pass@127.0.0.1:1', '--database', 'postgres://postgres@127.0.0.1:5432/test?schema=qiao_unused_flags'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a running Redis at 127.0.0.1:1, found connect ECONNREFUSED');
    expect(r.stderr).toContain('start Redis there');
    expect(r.stderr).not.toContain('hunter2-redis-pass');
  }, 30_000);
});
