import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStateStore, migrations, SCHEMA_VERSION, SchemeError, SqliteStateStore, type StateStore } from '../src/index.js';
import { tempDir } from './helpers.js';

const stores: [string, () => StateStore][] = [
  ['sqlite', () => new SqliteStateStore(tempDir('qiao-state-'))],
  ['memory', () => new MemoryStateStore()],
];

describe.each(stores)('%s state store', (_name, make) => {
  it('enqueues, claims, completes, and remembers what was delivered', () => {
    const s = make();
    s.enqueue('a', 'run1', [
      { key: 'k1', payload: { code: 'k1' }, fingerprint: 'f1' },
      { key: 'k2', payload: { code: 'k2' }, fingerprint: 'f2' },
    ]);
    expect(s.counts('a')).toEqual({ pending: 2, 'in-flight': 0, done: 0, dead: 0 });
    const claimed = s.claim('a', 10);
    expect(claimed.map((i) => [i.key, i.status, i.attempts])).toEqual([
      ['k1', 'in-flight', 1],
      ['k2', 'in-flight', 1],
    ]);
    expect(s.claim('a', 10)).toEqual([]);
    s.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: '1481709712348020742' }]);
    s.fail('a', [{ id: claimed[1]!.id, code: 'yonbip.999', message: '客户名称重复', dead: true }]);
    expect(s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 1 });
    expect(s.delivered('a', ['k1', 'k2']).get('k1')).toEqual({ key: 'k1', fingerprint: 'f1', targetId: '1481709712348020742' });
    expect(s.delivered('a', ['k2']).size).toBe(0);
    expect(s.deadGroups('a')).toEqual([{ code: 'yonbip.999', message: '客户名称重复', count: 1 }]);
    // schemes are separated
    expect(s.counts('b')).toEqual({ pending: 0, 'in-flight': 0, done: 0, dead: 0 });
    s.close();
  });

  it('re-queues dead letters, all or by id', () => {
    const s = make();
    s.enqueue('a', 'r', [1, 2, 3].map((i) => ({ key: `k${i}`, payload: {}, fingerprint: `f${i}` })));
    const items = s.claim('a', 3);
    s.fail('a', items.map((i) => ({ id: i.id, code: 'x', message: 'm', dead: true })));
    expect(s.requeueDead('a', [items[0]!.id])).toBe(1);
    expect(s.counts('a').pending).toBe(1);
    expect(s.requeueDead('a')).toBe(2);
    expect(s.counts('a')).toMatchObject({ pending: 3, dead: 0 });
    s.close();
  });

  it('puts writes left in flight back to pending, flagged maybe-written', () => {
    const s = make();
    s.enqueue('a', 'r', [{ key: 'k1', payload: {}, fingerprint: 'f1' }]);
    s.claim('a', 1);
    expect(s.recoverInFlight('a')).toBe(1);
    const [item] = s.claim('a', 1);
    expect(item!.maybeWritten).toBe(true);
    expect(item!.attempts).toBe(2);
    s.close();
  });

  it('writes an item read again while in flight once more, with the new content', () => {
    const s = make();
    s.enqueue('a', 'r', [{ key: 'k1', payload: { v: 1 }, fingerprint: 'f1' }]);
    const [item] = s.claim('a', 1);
    s.enqueue('a', 'r', [{ key: 'k1', payload: { v: 2 }, fingerprint: 'f2' }]);
    expect(s.claim('a', 1)).toEqual([]); // still in flight: never two writes of one key at once
    s.complete('a', [{ id: item!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    const [again] = s.claim('a', 1);
    expect(again!.payload).toEqual({ v: 2 });
    s.complete('a', [{ id: again!.id, key: 'k1', fingerprint: 'f2', outcome: 'updated' }]);
    expect(s.delivered('a', ['k1']).get('k1')).toEqual({ key: 'k1', fingerprint: 'f2', targetId: 'T1' });
    s.close();
  });

  it('keeps cursors and run history per scheme', () => {
    const s = make();
    s.setCursor('a', 'company', '2026-11-01 10:00:00');
    expect(s.getCursor('a', 'company')).toBe('2026-11-01 10:00:00');
    expect(s.getCursor('b', 'company')).toBeUndefined();
    const report = { scheme: 'a', runId: 'r1', status: 'running' as const, counts: { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 }, startedAt: '2026-11-01T00:00:00Z', finishedAt: null, durationMs: 0, errors: [] };
    s.startRun('a', report);
    s.finishRun('a', { ...report, status: 'succeeded', finishedAt: '2026-11-01T00:00:01Z', durationMs: 1000 });
    expect(s.runs('a')).toMatchObject([{ runId: 'r1', status: 'succeeded' }]);
    expect(s.schemes()).toContain('a');
    s.close();
  });

  it('refuses a second lock on the same scheme', async () => {
    const s = make();
    const lock = await s.lock('a');
    await expect(s.lock('b')).resolves.toBeDefined();
    if (s instanceof SqliteStateStore) {
      // the same process may retake its own lock; another process may not (see the CLI tests)
      lock.release();
    } else {
      await expect(s.lock('a')).rejects.toBeInstanceOf(SchemeError);
      lock.release();
      await expect(s.lock('a')).resolves.toBeDefined();
    }
    s.close();
  });
});

describe('SQLite state store migrations', () => {
  it('migrates a state directory made by schema version 1, keeping its data', () => {
    const dir = tempDir('qiao-migrate-');
    const db = new Database(join(dir, 'state.db'));
    db.exec(migrations[0]!);
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO queue (scheme, key, payload, fingerprint, status, attempts, run_id, created_at, updated_at) VALUES ('a', 'k1', '{"code":"k1"}', 'f1', 'in-flight', 1, 'old', 'x', 'x')`,
    ).run();
    db.prepare(`INSERT INTO cursors VALUES ('a', 'company', '2026-10-01 00:00:00', 'x')`).run();
    db.close();

    const s = new SqliteStateStore(dir);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.getCursor('a', 'company')).toBe('2026-10-01 00:00:00');
    expect(s.recoverInFlight('a')).toBe(1);
    const [item] = s.claim('a', 1);
    expect(item).toMatchObject({ key: 'k1', payload: { code: 'k1' }, maybeWritten: true, source: null });
    s.close();
  });

  it('refuses a database written by a newer qiao', () => {
    const dir = tempDir('qiao-newer-');
    const db = new Database(join(dir, 'state.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteStateStore(dir)).toThrow(/newer qiao/);
  });
});
