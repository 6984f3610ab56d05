import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, migrations, MemoryStateStore, PG_SCHEMA_VERSION, pgMigrations, PostgresStateStore, SCHEMA_VERSION, SqliteStateStore } from '../src/index.js';
import { tempDir } from './helpers.js';
import { backends, durableBackends, postgresBackend, testDatabaseUrl } from './state-backends.js';

describe.each(backends)('%s state store', (_name, make) => {
  it('enqueues, claims, completes, and remembers what was delivered', async () => {
    const s = await make();
    await s.enqueue('a', 'run1', [
      { key: 'k1', payload: { code: 'k1' }, fingerprint: 'f1' },
      { key: 'k2', payload: { code: 'k2' }, fingerprint: 'f2' },
    ]);
    expect(await s.counts('a')).toEqual({ pending: 2, 'in-flight': 0, done: 0, dead: 0 });
    const claimed = await s.claim('a', 10);
    expect(claimed.map((i) => [i.key, i.status, i.attempts])).toEqual([
      ['k1', 'in-flight', 1],
      ['k2', 'in-flight', 1],
    ]);
    expect(await s.claim('a', 10)).toEqual([]);
    await s.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: '1481709712348020742' }]);
    await s.fail('a', [{ id: claimed[1]!.id, code: 'yonbip.999', message: '客户名称重复', dead: true }]);
    expect(await s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 1 });
    expect((await s.delivered('a', ['k1', 'k2'])).get('k1')).toEqual({ key: 'k1', fingerprint: 'f1', targetId: '1481709712348020742', targetCode: null, businessKey: null, fields: null });
    expect((await s.delivered('a', ['k2'])).size).toBe(0);
    expect(await s.deadGroups('a')).toEqual([{ code: 'yonbip.999', message: '客户名称重复', count: 1 }]);
    // schemes are separated
    expect(await s.counts('b')).toEqual({ pending: 0, 'in-flight': 0, done: 0, dead: 0 });
    await s.close();
  });

  it('re-queues dead letters, all or by id', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [1, 2, 3].map((i) => ({ key: `k${i}`, payload: {}, fingerprint: `f${i}` })));
    const items = await s.claim('a', 3);
    await s.fail('a', items.map((i) => ({ id: i.id, code: 'x', message: 'm', dead: true })));
    expect(await s.requeueDead('a', [items[0]!.id])).toBe(1);
    expect((await s.counts('a')).pending).toBe(1);
    expect(await s.requeueDead('a')).toBe(2);
    expect(await s.counts('a')).toMatchObject({ pending: 3, dead: 0 });
    await s.close();
  });

  it('puts writes left in flight back to pending, flagged maybe-written', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [{ key: 'k1', payload: {}, fingerprint: 'f1' }]);
    await s.claim('a', 1);
    expect(await s.recoverInFlight('a')).toBe(1);
    const [item] = await s.claim('a', 1);
    expect(item!.maybeWritten).toBe(true);
    expect(item!.attempts).toBe(2);
    await s.close();
  });

  it('writes an item read again while in flight once more, with the new content', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [{ key: 'k1', payload: { v: 1 }, fingerprint: 'f1' }]);
    const [item] = await s.claim('a', 1);
    await s.enqueue('a', 'r', [{ key: 'k1', payload: { v: 2 }, fingerprint: 'f2' }]);
    expect(await s.claim('a', 1)).toEqual([]); // still in flight: never two writes of one key at once
    await s.complete('a', [{ id: item!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    const [again] = await s.claim('a', 1);
    expect(again!.payload).toEqual({ v: 2 });
    await s.complete('a', [{ id: again!.id, key: 'k1', fingerprint: 'f2', outcome: 'updated' }]);
    expect((await s.delivered('a', ['k1'])).get('k1')).toEqual({ key: 'k1', fingerprint: 'f2', targetId: 'T1', targetCode: null, businessKey: null, fields: null });
    await s.close();
  });

  it('enqueues dead letters beside the items to write, and forgets written items once delivered', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k2', payload: null, source: { id: 'k2' }, fingerprint: '', dead: { code: 'mapping.error', message: 'bad' } },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    const claimed = await s.claim('a', 10);
    expect(claimed.map((c) => [c.key, c.status, c.attempts])).toEqual([
      ['k1', 'in-flight', 1],
      ['k3', 'in-flight', 1],
    ]);
    expect(await s.counts('a')).toMatchObject({ pending: 0, 'in-flight': 2, dead: 1 });
    expect(await s.claim('a', 10)).toEqual([]); // nothing to claim twice
    await s.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    await s.fail('a', [{ id: claimed[1]!.id, code: 'yonbip.999', message: '客户名称重复', dead: true }]);
    expect(await s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 2 });
    expect((await s.delivered('a', ['k1'])).get('k1')).toEqual({ key: 'k1', fingerprint: 'f1', targetId: 'T1', targetCode: null, businessKey: null, fields: null });
    const dead = await s.list('a', { status: 'dead' });
    expect(dead.map((d) => [d.key, d.payload, d.lastErrorCode])).toEqual([
      ['k2', null, 'mapping.error'],
      ['k3', { v: 3 }, 'yonbip.999'],
    ]);
    // a dead letter re-queued is claimed like any other item; new content for its key replaces it
    expect(await s.requeueDead('a', [dead[1]!.id])).toBe(1);
    await s.enqueue('a', 'r2', [{ key: 'k3', payload: { v: 4 }, fingerprint: 'f4' }]);
    const [again, ...more] = await s.claim('a', 10);
    expect(more).toEqual([]);
    expect(again).toMatchObject({ key: 'k3', payload: { v: 4 }, fingerprint: 'f4', status: 'in-flight' });
    await s.close();
  });

  it('never writes one key twice at once: content read again during a write waits for it', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [{ key: 'k1', payload: { v: 1 }, fingerprint: 'f1' }]);
    const [first] = await s.claim('a', 10);
    await s.enqueue('a', 'r', [{ key: 'k1', payload: { v: 2 }, fingerprint: 'f2' }]);
    expect(await s.claim('a', 10)).toEqual([]);
    await s.complete('a', [{ id: first!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    const [again] = await s.claim('a', 10);
    expect(again).toMatchObject({ key: 'k1', payload: { v: 2 }, knownId: 'T1' });
    await s.complete('a', [{ id: again!.id, key: 'k1', fingerprint: 'f2', outcome: 'updated' }]);
    expect(await s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 0 });
    expect((await s.delivered('a', ['k1'])).get('k1')).toEqual({ key: 'k1', fingerprint: 'f2', targetId: 'T1', targetCode: null, businessKey: null, fields: null });
    await s.close();
  });

  it('keeps the code the target answered, the business key and the fields: claim hands them back, holders finds them', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [
      { key: 'k1', payload: { code: 'C1' }, fingerprint: 'f1' },
      { key: 'k2', payload: { code: 'C2' }, fingerprint: 'f2' },
    ]);
    const [i1, i2] = await s.claim('a', 10);
    expect(i1).toMatchObject({ knownId: null, knownCode: null, knownFields: null });
    await s.complete('a', [
      { id: i1!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1', targetCode: 'AUTO-1', businessKey: 'C1', fields: ['code', 'website'] },
      { id: i2!.id, key: 'k2', fingerprint: 'f2', outcome: 'inserted', targetId: 'T2', businessKey: 'C2', fields: ['code'] },
    ]);
    expect((await s.delivered('a', ['k1'])).get('k1')).toEqual({
      key: 'k1',
      fingerprint: 'f1',
      targetId: 'T1',
      targetCode: 'AUTO-1',
      businessKey: 'C1',
      fields: ['code', 'website'],
    });
    // by the mapped key, by the code the target answered, by the target id
    expect((await s.holders('a', { codes: ['C1'] })).map((d) => d.key)).toEqual(['k1']);
    expect((await s.holders('a', { codes: ['AUTO-1'] })).map((d) => d.key)).toEqual(['k1']);
    expect((await s.holders('a', { targetIds: ['T2'] })).map((d) => d.key)).toEqual(['k2']);
    expect((await s.holders('a', { codes: ['C1'], targetIds: ['T1'] })).map((d) => d.key)).toEqual(['k1']);
    expect(await s.holders('a', { codes: ['nobody'], targetIds: ['T9'] })).toEqual([]);
    expect(await s.holders('b', { codes: ['C1'] })).toEqual([]);

    // the next claim of the key carries them; a completion without a code keeps the known one
    await s.enqueue('a', 'r2', [{ key: 'k1', payload: { code: 'C1', v: 2 }, fingerprint: 'f1b' }]);
    const [again] = await s.claim('a', 10);
    expect(again).toMatchObject({ key: 'k1', knownId: 'T1', knownCode: 'AUTO-1', knownFields: ['code', 'website'] });
    await s.complete('a', [{ id: again!.id, key: 'k1', fingerprint: 'f1b', outcome: 'updated', targetId: 'T1', businessKey: 'C1', fields: ['code'] }]);
    expect((await s.delivered('a', ['k1'])).get('k1')).toMatchObject({ targetCode: 'AUTO-1', fields: ['code'] });
    await s.close();
  });

  it('keeps one item per key when a batch holds a key twice: the later content wins', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k1', payload: { v: 2 }, fingerprint: 'f2' },
    ]);
    expect(await s.counts('a')).toMatchObject({ pending: 1 });
    expect((await s.claim('a', 10)).map((i) => [i.payload, i.fingerprint])).toEqual([[{ v: 2 }, 'f2']]);
    expect(await s.claim('a', 10)).toEqual([]);
    await s.close();
  });

  it('puts a claimed write that failed for now back in the queue, flagged when it may have been written', async () => {
    const s = await make();
    await s.enqueue('a', 'r', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2' },
    ]);
    const [a, b] = await s.claim('a', 10);
    await s.fail('a', [
      { id: a!.id, code: 'yonbip.timeout', message: 'no answer', dead: false, maybeWritten: true },
      { id: b!.id, code: 'stopped', message: 'the run stopped', dead: false },
    ]);
    expect(await s.counts('a')).toMatchObject({ pending: 2, 'in-flight': 0 });
    const items = await s.claim('a', 10);
    expect(items.map((i) => [i.key, i.payload, i.maybeWritten])).toEqual([
      ['k1', { v: 1 }, true],
      ['k2', { v: 2 }, false],
    ]);
    await s.close();
  });

  it('keeps cursors and run history per scheme', async () => {
    const s = await make();
    await s.setCursor('a', 'company', '2026-11-01 10:00:00');
    expect(await s.getCursor('a', 'company')).toBe('2026-11-01 10:00:00');
    expect(await s.getCursor('b', 'company')).toBeUndefined();
    const report = { scheme: 'a', runId: 'r1', status: 'running' as const, counts: { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 }, startedAt: '2026-11-01T00:00:00Z', finishedAt: null, durationMs: 0, errors: [] };
    await s.startRun('a', report);
    await s.finishRun('a', { ...report, status: 'succeeded', finishedAt: '2026-11-01T00:00:01Z', durationMs: 1000 });
    expect(await s.runs('a')).toMatchObject([{ runId: 'r1', status: 'succeeded' }]);
    expect(await s.schemes()).toContain('a');
    await s.close();
  });

  it('refuses a second lock on the same scheme', async () => {
    const s = await make();
    const lock = await s.lock('a');
    await expect(s.lock('b')).resolves.toBeDefined();
    if (!(s instanceof MemoryStateStore)) {
      // the same process may retake its own lock; another process may not (see the CLI tests and state-truth.test.ts)
      await lock.release();
    } else {
      await expect(s.lock('a')).rejects.toBeInstanceOf(InputError);
      await lock.release();
      await expect(s.lock('a')).resolves.toBeDefined();
    }
    await s.close();
  });
});

/** Journal rows as a qiao of schema v3 wrote them (one per enqueued batch: key, payload, fingerprint, cursor). */
function olderQiaoJournal(db: Database.Database, scheme: string, runId: string, batches: [string, unknown, string, string | null][][]): void {
  const put = db.prepare('INSERT INTO journal (scheme, run_id, n, items, created_at) VALUES (?, ?, ?, ?, ?)');
  for (const items of batches) put.run(scheme, runId, items.length, JSON.stringify(items), '2026-11-30T00:00:00.000Z');
}

/** A queue row as a qiao of schema v3 left it. */
function olderQiaoQueueRow(db: Database.Database, scheme: string, key: string, payload: unknown, fingerprint: string, status: string, code: string | null = null): void {
  db.prepare(
    `INSERT INTO queue (scheme, key, payload, fingerprint, status, attempts, last_error_code, last_error_message, run_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?, 'r1', 'x', 'x')`,
  ).run(scheme, key, JSON.stringify(payload), fingerprint, status, code, code ? 'rejected' : null);
}

describe.each(durableBackends)('%s state store after a crash', (_name, backend) => {
  it('gives back, flagged maybe-written, what a dead process held and had not delivered', async () => {
    const state = await backend.fresh();
    const s1 = await state.open();
    await s1.enqueue('a', 'r1', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1' },
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2' },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    const claimed = await s1.claim('a', 10);
    await s1.enqueue('a', 'r1', [
      { key: 'k2', payload: { v: 22 }, fingerprint: 'f22' }, // read again while in flight
      { key: 'k4', payload: { v: 4 }, fingerprint: 'f4' },
    ]);
    expect((await s1.claim('a', 10)).map((i) => i.key)).toEqual(['k4']); // k2 waits for its write
    await s1.enqueue('a', 'r0', [{ key: 'old', payload: { v: 0 }, fingerprint: 'f0' }]);
    await s1.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    await s1.fail('a', [{ id: claimed[2]!.id, code: 'yonbip.999', message: 'rejected', dead: true }]);
    // the process dies here: no close, no more completions
    const s2 = await state.open();
    expect(await s2.recoverInFlight('a')).toBe(2); // k2 (newest content) and k4; k1 is delivered, k3 is dead
    const items = await s2.claim('a', 10);
    expect(items.map((i) => [i.key, i.payload, i.maybeWritten]).sort()).toEqual([
      ['k2', { v: 22 }, true],
      ['k4', { v: 4 }, true],
      ['old', { v: 0 }, false],
    ]);
    expect((await s2.list('a', { status: 'dead' })).map((d) => d.key)).toEqual(['k3']);
    await s2.close();
    await s1.close();
  });
});

describe('SQLite state store after a crash of an older qiao', () => {
  it('gives back what an older qiao, killed mid-run, left in its write journal', async () => {
    const dir = tempDir('qiao-crash-journal-');
    const s1 = new SqliteStateStore(dir);
    await s1.enqueue('a', 'r0', [{ key: 'old', payload: { v: 0 }, fingerprint: 'f0' }]);
    // what qiao of schema v3 left: two journal rows; k1 delivered, k3 failed (a dead queue row), and new
    // content for k2 waiting (in flight) for the journal item of k2
    olderQiaoJournal(s1.db, 'a', 'r1', [
      [
        ['k1', { v: 1 }, 'f1', null],
        ['k2', { v: 2 }, 'f2', null],
        ['k3', { v: 3 }, 'f3', null],
      ],
      [['k4', { v: 4 }, 'f4', null]],
    ]);
    await s1.complete('a', [{ id: 0, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    olderQiaoQueueRow(s1.db, 'a', 'k3', { v: 3 }, 'f3', 'dead', 'yonbip.999');
    olderQiaoQueueRow(s1.db, 'a', 'k2', { v: 22 }, 'f22', 'in-flight');
    const s2 = new SqliteStateStore(dir);
    expect(await s2.recoverInFlight('a')).toBe(2); // k2 (newest content) and k4; k1 is delivered, k3 is dead
    const items = await s2.claim('a', 10);
    expect(items.map((i) => [i.key, i.payload, i.maybeWritten]).sort()).toEqual([
      ['k2', { v: 22 }, true],
      ['k4', { v: 4 }, true],
      ['old', { v: 0 }, false],
    ]);
    expect((await s2.list('a', { status: 'dead' })).map((d) => d.key)).toEqual(['k3']);
    expect(s2.db.prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 0 });
    await s2.close();
    await s1.close();
  });
});

describe.each(durableBackends)('%s state store: the queue as another process sees it', (_name, backend) => {
  it('lists and counts the writes of a run in progress as in flight', async () => {
    const state = await backend.fresh();
    const run = await state.open();
    await run.enqueue('a', 'r1', [
      { key: 'k1', payload: { v: 1 }, fingerprint: 'f1', cursor: 'c1' },
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2' },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    const claimed = await run.claim('a', 10);
    await run.enqueue('a', 'r1', [{ key: 'k4', payload: { v: 4 }, fingerprint: 'f4' }]);
    await run.claim('a', 10);
    await run.complete('a', [{ id: claimed[0]!.id, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    await run.fail('a', [{ id: claimed[2]!.id, code: 'yonbip.999', message: 'rejected', dead: true }]);
    // `qiao queue` in another process, while the run goes on
    const cli = await state.open({ create: false });
    const inFlight = await cli.list('a', { status: 'in-flight' });
    expect(inFlight.map((i) => [i.key, i.payload, i.status, i.runId])).toEqual([
      ['k2', { v: 2 }, 'in-flight', 'r1'],
      ['k4', { v: 4 }, 'in-flight', 'r1'],
    ]);
    expect(await cli.counts('a')).toMatchObject({ 'in-flight': 2, done: 1, dead: 1, pending: 0 });
    expect((await cli.list('a')).map((i) => [i.key, i.status])).toEqual([
      ['k2', 'in-flight'],
      ['k3', 'dead'],
      ['k4', 'in-flight'],
    ]);
    expect((await cli.list('a', { status: 'in-flight', limit: 1, offset: 1 })).map((i) => i.key)).toEqual(['k4']);
    expect(await cli.list('a', { status: 'pending' })).toEqual([]);
    await cli.close();
    await run.close();
  });
});

describe('SQLite state store: the queue as another process sees it, with an older qiao', () => {
  it('lists and counts the journal items an older qiao left as in flight, and only those not yet settled', async () => {
    const dir = tempDir('qiao-inflight-journal-');
    const run = new SqliteStateStore(dir);
    olderQiaoJournal(run.db, 'a', 'r1', [
      [
        ['k1', { v: 1 }, 'f1', 'c1'],
        ['k2', { v: 2 }, 'f2', null],
        ['k3', { v: 3 }, 'f3', null],
      ],
      [['k4', { v: 4 }, 'f4', null]],
    ]);
    await run.complete('a', [{ id: 0, key: 'k1', fingerprint: 'f1', outcome: 'inserted', targetId: 'T1' }]);
    olderQiaoQueueRow(run.db, 'a', 'k3', { v: 3 }, 'f3', 'dead', 'yonbip.999');
    const cli = new SqliteStateStore(dir);
    const inFlight = await cli.list('a', { status: 'in-flight' });
    expect(inFlight.map((i) => [i.key, i.payload, i.status, i.runId])).toEqual([
      ['k2', { v: 2 }, 'in-flight', 'r1'],
      ['k4', { v: 4 }, 'in-flight', 'r1'],
    ]);
    expect(new Set(inFlight.map((i) => i.id)).size).toBe(2);
    expect(await cli.counts('a')).toMatchObject({ 'in-flight': 2, done: 1, dead: 1, pending: 0 });
    expect((await cli.list('a')).map((i) => [i.key, i.status])).toEqual([
      ['k3', 'dead'],
      ['k2', 'in-flight'],
      ['k4', 'in-flight'],
    ]);
    expect((await cli.list('a', { status: 'in-flight', limit: 1, offset: 1 })).map((i) => i.key)).toEqual(['k4']);
    expect(await cli.list('a', { status: 'pending' })).toEqual([]);
    expect(await cli.schemes()).toEqual(['a']);
    await cli.close();
    await run.close();
  });
});

describe('SQLite state store migrations', () => {
  it('migrates a state directory made by schema version 1, keeping its data', async () => {
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
    expect(await s.getCursor('a', 'company')).toBe('2026-10-01 00:00:00');
    expect(await s.recoverInFlight('a')).toBe(1);
    const [item] = await s.claim('a', 1);
    expect(item).toMatchObject({ key: 'k1', payload: { code: 'k1' }, maybeWritten: true, source: null });
    await s.close();
  });

  it('migrates a schema version 2 database: done rows leave the queue, their deliveries count as done', async () => {
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
    expect(await s.counts('a')).toEqual({ pending: 0, 'in-flight': 0, done: 1, dead: 1 });
    expect((await s.list('a')).map((i) => i.key)).toEqual(['k2']);
    // new content for the dead key goes to its row; a new key gets one
    await s.enqueue('a', 'r', [
      { key: 'k2', payload: { v: 2 }, fingerprint: 'f2b' },
      { key: 'k3', payload: { v: 3 }, fingerprint: 'f3' },
    ]);
    expect(await s.counts('a')).toEqual({ pending: 2, 'in-flight': 0, done: 1, dead: 0 });
    expect((await s.claim('a', 10)).map((i) => [i.key, i.payload])).toEqual([
      ['k2', { v: 2 }],
      ['k3', { v: 3 }],
    ]);
    await s.close();
  });

  it('migrates a schema version 4 id map: its rows keep their ids, with no code, business key or fields yet', async () => {
    const dir = tempDir('qiao-migrate-v4-');
    const db = new Database(join(dir, 'state.db'));
    for (const m of migrations.slice(0, 4)) db.exec(m);
    db.pragma('user_version = 4');
    db.prepare(`INSERT INTO delivered VALUES ('a', 'k1', 'f1', 'T1', 'x')`).run();
    db.close();

    const s = new SqliteStateStore(dir);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((await s.delivered('a', ['k1'])).get('k1')).toEqual({ key: 'k1', fingerprint: 'f1', targetId: 'T1', targetCode: null, businessKey: null, fields: null });
    expect((await s.holders('a', { targetIds: ['T1'] })).map((d) => d.key)).toEqual(['k1']);
    const plan = s.db.prepare(`EXPLAIN QUERY PLAN SELECT key FROM delivered WHERE scheme = 'a' AND business_key = 'C1'`).all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join()).toMatch(/delivered_business_key/);
    await s.close();
  });

  it('refuses a database written by a newer qiao', () => {
    const dir = tempDir('qiao-newer-');
    const db = new Database(join(dir, 'state.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteStateStore(dir)).toThrow(/newer qiao/);
    expect(() => new SqliteStateStore(dir)).toThrow(InputError);
  });
});

describe('PostgreSQL state store migrations', () => {
  it('makes the schema and its tables at the current version, recorded in qiao_schema_version', async () => {
    const state = await postgresBackend.fresh();
    const s = await state.open();
    expect((s as PostgresStateStore).created).toBe(true);
    expect(await state.sql('SELECT version FROM qiao_schema_version')).toEqual([{ version: PG_SCHEMA_VERSION }]);
    expect(PG_SCHEMA_VERSION).toBe(pgMigrations.length);
    const tables = await state.sql<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
    );
    expect(tables.map((r) => r.t)).toEqual(['cursors', 'deletions', 'delivered', 'locks', 'qiao_schema_version', 'queue', 'runs']);
    const again = await state.open();
    expect((again as PostgresStateStore).created).toBe(false);
  });

  it('is migrated once when several workers open a new schema at the same moment', async () => {
    const state = await postgresBackend.fresh();
    const stores = await Promise.all(Array.from({ length: 5 }, () => state.open()));
    expect(stores.filter((s) => (s as PostgresStateStore).created).length).toBeGreaterThanOrEqual(1);
    expect(await state.sql('SELECT version FROM qiao_schema_version')).toEqual([{ version: PG_SCHEMA_VERSION }]);
    // every store works on the one state
    await stores[0]!.setCursor('a', 'company', 'c1');
    expect(await Promise.all(stores.map((s) => s.getCursor('a', 'company')))).toEqual(['c1', 'c1', 'c1', 'c1', 'c1']);
  });

  it('keeps the data of a state through a reopen, and refuses a state written by a newer qiao', async () => {
    const state = await postgresBackend.fresh();
    const s = await state.open();
    await s.setCursor('a', 'company', '2026-10-01 00:00:00');
    await s.close();
    expect(await (await state.open()).getCursor('a', 'company')).toBe('2026-10-01 00:00:00');
    await state.sql('UPDATE qiao_schema_version SET version = ?', [PG_SCHEMA_VERSION + 1]);
    const e = await state.open().catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/version \d+, written by a newer qiao/);
    expect((e as Error).message).toMatch(/schema qiao_test_/);
  });

  it('keeps separate states in separate schemas of one database', async () => {
    const a = await PostgresStateStore.open(testDatabaseUrl());
    const b = await PostgresStateStore.open(testDatabaseUrl());
    await a.setCursor('x', 'company', 'in a');
    expect(await b.getCursor('x', 'company')).toBeUndefined();
    expect(await b.schemes()).toEqual([]);
    await a.close();
    await b.close();
  });
});
