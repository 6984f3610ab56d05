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

  it('hands enqueued items straight to the writers, and forgets them once delivered', () => {
    const s = make();
    const claimed = s.enqueueClaimed('a', 'r', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k2', payload: null, source: { id: 'k2' }, fingerprint: '', dead: { code: 'mapping.error', message: 'bad' } },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    expect(claimed.map((c) => c && [c.key, c.status, c.attempts])).toEqual([['k1', 'in-flight', 1], undefined, ['k3', 'in-flight', 1]]);
    expect(s.counts('a')).toMatchObject({ pending: 0, 'in-flight': 2, dead: 1 });
    expect(s.claim('a', 10)).toEqual([]); // nothing to claim twice
    s.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    s.fail('a', [{ id: claimed[2]!.id, code: 'yonbip.999', message: '客户名称重复', dead: true }]);
    expect(s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 2 });
    expect(s.delivered('a', ['k1']).get('k1')).toEqual({ key: 'k1', fingerprint: 'f1', targetId: 'T1' });
    const dead = s.list('a', { status: 'dead' });
    expect(dead.map((d) => [d.key, d.payload, d.lastErrorCode])).toEqual([
      ['k2', null, 'mapping.error'],
      ['k3', { v: 3 }, 'yonbip.999'],
    ]);
    // a dead letter re-queued is claimed like any other item; new content for its key replaces it
    expect(s.requeueDead('a', [dead[1]!.id])).toBe(1);
    expect(s.enqueueClaimed('a', 'r2', [{ key: 'k3', payload: { v: 4 }, fingerprint: 'f4' }])).toEqual([undefined]);
    const [again] = s.claim('a', 10);
    expect(again).toMatchObject({ key: 'k3', payload: { v: 4 }, fingerprint: 'f4', status: 'in-flight' });
    s.close();
  });

  it('never writes one key twice at once: content read again during a write waits for it', () => {
    const s = make();
    const [first] = s.enqueueClaimed('a', 'r', [{ key: 'k1', payload: { v: 1 }, fingerprint: 'f1' }]);
    expect(s.enqueueClaimed('a', 'r', [{ key: 'k1', payload: { v: 2 }, fingerprint: 'f2' }])).toEqual([undefined]);
    expect(s.claim('a', 10)).toEqual([]);
    s.complete('a', [{ id: first!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    const [again] = s.claim('a', 10);
    expect(again).toMatchObject({ key: 'k1', payload: { v: 2 }, knownId: 'T1' });
    s.complete('a', [{ id: again!.id, key: 'k1', fingerprint: 'f2', outcome: 'updated' }]);
    expect(s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 0 });
    expect(s.delivered('a', ['k1']).get('k1')).toEqual({ key: 'k1', fingerprint: 'f2', targetId: 'T1' });
    s.close();
  });

  it('claims one item per key when a batch holds a key twice; the later content waits for the first write', () => {
    const s = make();
    const claimed = s.enqueueClaimed('a', 'r', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k1', payload: { v: 2 }, fingerprint: 'f2' },
    ]);
    expect(claimed.map((c) => c?.fingerprint)).toEqual(['f1', undefined]);
    expect(s.claim('a', 10)).toEqual([]);
    s.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    expect(s.claim('a', 10).map((i) => i.payload)).toEqual([{ v: 2 }]);
    s.close();
  });

  it('puts a claimed write that failed for now back in the queue, flagged when it may have been written', () => {
    const s = make();
    const [a, b] = s.enqueueClaimed('a', 'r', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2' },
    ]);
    s.fail('a', [
      { id: a!.id, code: 'yonbip.timeout', message: 'no answer', dead: false, maybeWritten: true },
      { id: b!.id, code: 'stopped', message: 'the run stopped', dead: false },
    ]);
    expect(s.counts('a')).toMatchObject({ pending: 2, 'in-flight': 0 });
    const items = s.claim('a', 10);
    expect(items.map((i) => [i.key, i.payload, i.maybeWritten])).toEqual([
      ['k1', { v: 1 }, true],
      ['k2', { v: 2 }, false],
    ]);
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

describe('SQLite state store after a crash', () => {
  it('gives back, flagged maybe-written, what a dead process held and had not delivered', () => {
    const dir = tempDir('qiao-crash-');
    const s1 = new SqliteStateStore(dir);
    s1.enqueue('a', 'r0', [{ key: 'old', payload: { v: 0 }, fingerprint: 'f0' }]);
    const claimed = s1.enqueueClaimed('a', 'r1', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2' },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    const more = s1.enqueueClaimed('a', 'r1', [
      { key: 'k2', payload: { v: 22 }, fingerprint: 'f22' }, // read again while in flight
      { key: 'k4', payload: { v: 4 }, fingerprint: 'f4' },
    ]);
    expect(more[0]).toBeUndefined();
    s1.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    s1.fail('a', [{ id: claimed[2]!.id, code: 'yonbip.999', message: 'rejected', dead: true }]);
    // the process dies here: no close, no more completions
    const s2 = new SqliteStateStore(dir);
    expect(s2.recoverInFlight('a')).toBe(2); // k2 (newest content) and k4; k1 is delivered, k3 is dead
    const items = s2.claim('a', 10);
    expect(items.map((i) => [i.key, i.payload, i.maybeWritten]).sort()).toEqual([
      ['k2', { v: 22 }, true],
      ['k4', { v: 4 }, true],
      ['old', { v: 0 }, false],
    ]);
    expect(s2.list('a', { status: 'dead' }).map((d) => d.key)).toEqual(['k3']);
    expect(s2.db.prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 0 });
    s2.close();
    s1.close();
  });
});

describe('SQLite state store: the queue as another process sees it', () => {
  it('lists and counts the journal items of a run in progress as in flight, and only those not yet settled', () => {
    const dir = tempDir('qiao-inflight-');
    const run = new SqliteStateStore(dir);
    const claimed = run.enqueueClaimed('a', 'r1', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1', cursor: 'c1' },
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2' },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    run.enqueueClaimed('a', 'r1', [{ key: 'k4', payload: { v: 4 }, fingerprint: 'f4' }]);
    run.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    run.fail('a', [{ id: claimed[2]!.id, code: 'yonbip.999', message: 'rejected', dead: true }]);
    // `qiao queue` in another process, while the run goes on
    const cli = new SqliteStateStore(dir);
    const inFlight = cli.list('a', { status: 'in-flight' });
    expect(inFlight.map((i) => [i.key, i.payload, i.status, i.runId])).toEqual([
      ['k2', { v: 2 }, 'in-flight', 'r1'],
      ['k4', { v: 4 }, 'in-flight', 'r1'],
    ]);
    expect(new Set(inFlight.map((i) => i.id)).size).toBe(2);
    expect(cli.counts('a')).toMatchObject({ 'in-flight': 2, done: 1, dead: 1, pending: 0 });
    expect(cli.list('a').map((i) => [i.key, i.status])).toEqual([
      ['k3', 'dead'],
      ['k2', 'in-flight'],
      ['k4', 'in-flight'],
    ]);
    expect(cli.list('a', { status: 'in-flight', limit: 1, offset: 1 }).map((i) => i.key)).toEqual(['k4']);
    expect(cli.list('a', { status: 'pending' })).toEqual([]);
    cli.close();
    run.close();
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

  it('migrates a schema version 2 database: done rows leave the queue, their deliveries count as done', () => {
    const dir = tempDir('qiao-migrate-v2-');
    const db = new Database(join(dir, 'state.db'));
    db.exec(migrations[0]!);
    db.exec(migrations[1]!);
    db.pragma('user_version = 2');
    const row = db.prepare(
      `INSERT INTO queue (scheme, key, payload, fingerprint, status, attempts, run_id, created_at, updated_at) VALUES ('a', ?, '{"v":1}', ?, ?, 1, 'old', 'x', 'x')`,
    );
    row.run('k1', 'f1', 'done');
    row.run('k2', 'f2', 'dead');
    db.prepare(`INSERT INTO delivered VALUES ('a', 'k1', 'f1', 'T1', 'x')`).run();
    db.close();

    const s = new SqliteStateStore(dir);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 1 });
    expect(s.list('a').map((i) => i.key)).toEqual(['k2']);
    // new content for the dead key goes to its row; a new key is claimed at once
    const claimed = s.enqueueClaimed('a', 'r', [
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2b' },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    expect(claimed.map((c) => c?.key)).toEqual([undefined, 'k3']);
    expect(s.claim('a', 10).map((i) => [i.key, i.payload])).toEqual([['k2', { v: 2 }]]);
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
