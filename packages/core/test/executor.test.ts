import { describe, expect, it } from 'vitest';
import {
  DeclarativeMapper,
  loadScheme,
  RetryableError,
  runLoadedScheme,
  SqliteStateStore,
  wireScheme,
  type LoadedScheme,
  type SourceRecord,
  type StateStore,
  type Source,
  type Target,
} from '../src/index.js';
import { memoryRecord, memoryTargetStore } from '../src/testing/index.js';
import { memoryResolver, tempDir, writeTemp } from './helpers.js';

const dir = tempDir('qiao-exec-');
let n = 0;

async function scheme(params: string, targetConn = ''): Promise<{ loaded: LoadedScheme; storeName: string }> {
  const storeName = `exec-${++n}`;
  const text = `version: 1
id: exec-${n}
source:
  connector: memory
  stream: records
  params: ${params}
target:
  connector: memory
  operation: records.save
  connection: { store: ${storeName}${targetConn} }
mapping:
  code: id
  name.zh_CN: name
  amount: amount
  poison: poison
`;
  const file = writeTemp(dir, `s${n}.yaml`, text);
  return { loaded: await loadScheme(file, { resolver: memoryResolver, env: {} }), storeName };
}

describe('runScheme', () => {
  it('delivers every record once; a second run reads from the cursor and writes nothing', async () => {
    const { loaded, storeName } = await scheme('{ count: 300, pageSize: 40 }');
    const store = new SqliteStateStore(tempDir());
    const first = await runLoadedScheme(loaded, store, { batchSize: 25, maxQueued: 30 });
    expect(first).toMatchObject({ status: 'succeeded', counts: { read: 300, inserted: 300, updated: 0, skipped: 0, failed: 0 } });
    const target = memoryTargetStore(storeName);
    expect(target.records.size).toBe(300);
    expect([...target.inserts.values()].every((c) => c === 1)).toBe(true);
    expect(await store.getCursor(loaded.scheme.id, 'records')).toBe('2026-01-01T00:05:00.000Z');

    const second = await runLoadedScheme(loaded, store);
    expect(second.counts).toEqual({ read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 });

    // --full re-reads everything and skips what did not change
    const full = await runLoadedScheme(loaded, store, { full: true });
    expect(full.counts).toEqual({ read: 300, inserted: 0, updated: 0, skipped: 300, failed: 0 });
    expect(await store.runs(loaded.scheme.id)).toHaveLength(3);
  });

  it('writes changed records as updates', async () => {
    const { loaded, storeName } = await scheme('{ count: 50 }');
    const store = new SqliteStateStore(tempDir());
    await runLoadedScheme(loaded, store);
    loaded.source.params.changed = 5;
    const again = await runLoadedScheme(loaded, store);
    expect(again.counts).toMatchObject({ read: 5, updated: 5, inserted: 0 });
    expect(memoryTargetStore(storeName).updates.size).toBe(5);
  });

  it('sends a rejected record to dead letters and goes on; re-queued, it is delivered once the cause is fixed', async () => {
    const { loaded, storeName } = await scheme('{ count: 40, poisonEvery: 10 }');
    const store = new SqliteStateStore(tempDir());
    const report = await runLoadedScheme(loaded, store);
    expect(report.status).toBe('partial');
    expect(report.counts).toMatchObject({ inserted: 36, failed: 4 });
    expect(report.errors).toEqual([expect.objectContaining({ code: 'memory.poison', count: 4 })]);
    expect((await store.counts(loaded.scheme.id)).dead).toBe(4);

    expect(await store.requeueDead(loaded.scheme.id)).toBe(4);
    loaded.target.connection.acceptPoison = true;
    const retry = await runLoadedScheme(loaded, store, { drainOnly: true });
    expect(retry).toMatchObject({ status: 'succeeded', counts: { inserted: 4, failed: 0 } });
    expect(memoryTargetStore(storeName).records.size).toBe(40);
  });

  it('sends a record whose payload does not fit the operation to dead letters with the reason', async () => {
    const { loaded } = await scheme('{ count: 3 }');
    const { mapper } = DeclarativeMapper.compile({ code: 'id', 'name.zh_CN': { value: '' } });
    const report = await runLoadedScheme({ ...loaded, mapper }, new SqliteStateStore(tempDir()));
    expect(report.status).toBe('partial');
    expect(report.errors[0]).toMatchObject({ code: 'payload.invalid', count: 3 });
    expect(report.errors[0]!.message).toContain('/name/zh_CN');
  });

  it('keeps each dead letter with the whole record as the source read it', async () => {
    const { loaded } = await scheme('{ count: 6 }');
    // records with an amount above 30 get an empty name: their payloads do not fit, and they are kept
    const { mapper } = DeclarativeMapper.compile({ code: 'id', 'name.zh_CN': "amount > 30 ? '' : name" });
    const store = new SqliteStateStore(tempDir());
    const report = await runLoadedScheme({ ...loaded, mapper }, store);
    expect(report.counts).toMatchObject({ inserted: 3, failed: 3 });
    const dead = await store.list(loaded.scheme.id, { status: 'dead' });
    expect(dead.map((d) => d.source).sort((a, b) => String(a?.id).localeCompare(String(b?.id)))).toEqual(
      [4, 5, 6].map((i) => memoryRecord(i).data),
    );
  });

  it('keeps the record as read with each dead letter, so that a re-queued one is mapped again', async () => {
    const { loaded, storeName } = await scheme('{ count: 6 }');
    // the mapping fails for records with an amount above 30: they are kept unmapped, with the record
    const { mapper } = DeclarativeMapper.compile({ code: 'id', 'name.zh_CN': "amount > 30 ? $error('amount too large') : name" });
    const store = new SqliteStateStore(tempDir());
    const report = await runLoadedScheme({ ...loaded, mapper }, store);
    expect(report.counts).toMatchObject({ inserted: 3, failed: 3 });
    expect(report.errors).toEqual([expect.objectContaining({ code: 'mapping.error', count: 3 })]);
    const dead = await store.list(loaded.scheme.id, { status: 'dead' });
    expect(dead.map((d) => d.payload)).toEqual([null, null, null]);
    expect(dead.map((d) => d.source)).toEqual([4, 5, 6].map((i) => memoryRecord(i).data));

    // re-queued once the mapping is fixed, they are mapped again and written, once each
    expect(await store.requeueDead(loaded.scheme.id)).toBe(3);
    const retry = await runLoadedScheme(loaded, store, { drainOnly: true });
    expect(retry).toMatchObject({ status: 'succeeded', counts: { inserted: 3, failed: 0 } });
    const target = memoryTargetStore(storeName);
    expect(target.records.get('R0000005')?.payload).toMatchObject({ code: 'R0000005', name: { zh_CN: '记录 5' }, amount: 50 });
    expect([...target.inserts.values()].every((c) => c === 1)).toBe(true);
    expect(await store.counts(loaded.scheme.id)).toMatchObject({ pending: 0, dead: 0 });
  });

  it("keeps the source's checkpoint over the newest cursor read, and reports the source's warnings", async () => {
    const { loaded } = await scheme('{ count: 30 }');
    const wired = wireScheme(loaded);
    const real = wired.source;
    // a source whose window ended at 00:00:10 by its system's clock; records edited during the run carry later cursors
    const source: Source = {
      async *read(ctx) {
        for await (const rec of real.read(ctx)) yield rec;
        ctx.warn?.('read.total_mismatch', 'listed 30 of 31 customers');
        ctx.checkpoint?.('2026-01-01T00:00:10.000Z');
      },
    };
    const store = new SqliteStateStore(tempDir());
    const report = await runLoadedScheme(loaded, store, { wired: { ...wired, source } });
    expect(report).toMatchObject({ status: 'succeeded', counts: { read: 30, inserted: 30 } });
    expect(report.warnings).toEqual([expect.objectContaining({ code: 'read.total_mismatch', message: 'listed 30 of 31 customers', count: 1 })]);
    expect(await store.getCursor(loaded.scheme.id, 'records')).toBe('2026-01-01T00:00:10.000Z');
    expect(report.cursor).toBe('2026-01-01T00:00:10.000Z');

    // a read cut short by --limit moves no cursor, whatever the source said
    const store2 = new SqliteStateStore(tempDir());
    await runLoadedScheme(loaded, store2, { wired: { ...wired, source }, limit: 5 });
    expect(await store2.getCursor(loaded.scheme.id, 'records')).toBeUndefined();
  });

  it('never moves the cursor past a record that was not delivered, and resumes the queue', async () => {
    const { loaded, storeName } = await scheme('{ count: 100 }');
    const store = new SqliteStateStore(tempDir());
    const wired = wireScheme(loaded);
    const real = wired.target;
    let writes = 0;
    const flaky: Target = {
      write: async (p, ctx) => {
        if (++writes > 30) throw new RetryableError('YonBIP unreachable', { reason: 'memory.network' });
        return real.write(p, ctx);
      },
    };
    const failed = await runLoadedScheme(loaded, store, { wired: { ...wired, target: flaky }, concurrency: 1 });
    expect(failed.status).toBe('failed');
    expect(failed.fatal?.code).toBe('memory.network');
    expect(await store.getCursor(loaded.scheme.id, 'records')).toBeUndefined();
    expect((await store.counts(loaded.scheme.id)).pending).toBeGreaterThan(0);

    const resumed = await runLoadedScheme(loaded, store);
    expect(resumed.status).toBe('succeeded');
    expect(resumed.resumed).toBeGreaterThan(0);
    const target = memoryTargetStore(storeName);
    expect(target.records.size).toBe(100);
    expect([...target.inserts.values()].every((c) => c === 1)).toBe(true);
    expect(await store.getCursor(loaded.scheme.id, 'records')).toBe('2026-01-01T00:01:40.000Z');
  });

  it("warms the target up once per run while reading, and a failed warm-up does not fail the run", async () => {
    const { loaded, storeName } = await scheme('{ count: 20 }');
    const store = new SqliteStateStore(tempDir());
    const wired = wireScheme(loaded);
    const real = wired.target;
    let warmUps = 0;
    let writesBeforeWarmUp = -1;
    let writes = 0;
    const target: Target = {
      write: (p, ctx) => {
        writes++;
        return real.write(p, ctx);
      },
      warmUp: async () => {
        warmUps++;
        writesBeforeWarmUp = writes;
        throw new Error('BIP token refused');
      },
    };
    const report = await runLoadedScheme(loaded, store, { wired: { ...wired, target } });
    expect(report.status).toBe('succeeded');
    expect(warmUps).toBe(1);
    expect(writesBeforeWarmUp).toBe(0);
    expect(memoryTargetStore(storeName).records.size).toBe(20);
    // a run that only drains the queue reads nothing and writes at once: no warm-up
    await runLoadedScheme(loaded, store, { wired: { ...wired, target }, drainOnly: true });
    expect(warmUps).toBe(1);
  });

  it('works with a state store and a mapper that answer only with promises', async () => {
    const { loaded, storeName } = await scheme('{ count: 120, poisonEvery: 40 }');
    const sync = new SqliteStateStore(tempDir());
    const calls = new Set<string>();
    // every method of the store answers a tick later, as a server-backed store would
    const store = new Proxy(sync, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver) as unknown;
        if (typeof v !== 'function' || name === 'close') return v;
        return async (...args: unknown[]) => {
          calls.add(String(name));
          await new Promise((r) => setImmediate(r));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as unknown as StateStore;
    // the scheme's mapper, answering only with promises
    const mapper = Object.create(loaded.mapper, { map: { value: async (rec: SourceRecord) => loaded.mapper.map(rec) } }) as typeof loaded.mapper;
    const report = await runLoadedScheme({ ...loaded, mapper }, store, { batchSize: 25, maxQueued: 30, concurrency: 3 });
    expect(report).toMatchObject({ status: 'partial', counts: { read: 120, inserted: 117, failed: 3 } });
    expect(report.errors).toEqual([expect.objectContaining({ code: 'memory.poison', count: 3 })]);
    expect([...memoryTargetStore(storeName).inserts.values()].every((c) => c === 1)).toBe(true);
    expect(await sync.getCursor(loaded.scheme.id, 'records')).toBe('2026-01-01T00:02:00.000Z');
    expect(await sync.counts(loaded.scheme.id)).toMatchObject({ pending: 0, 'in-flight': 0, dead: 3 });
    expect([...calls]).toEqual(expect.arrayContaining(['lock', 'enqueue', 'claim', 'complete', 'fail', 'setCursor', 'finishRun']));
    expect(calls.has('enqueueClaimed')).toBe(false);

    const again = await runLoadedScheme({ ...loaded, mapper }, store, { full: true });
    expect(again.counts).toMatchObject({ read: 120, skipped: 117, failed: 3, inserted: 0 });
  });

  it('reports progress with a total and an ETA', async () => {
    const { loaded } = await scheme('{ count: 500 }');
    const seen: number[] = [];
    let sawEta = false;
    await runLoadedScheme(loaded, new SqliteStateStore(tempDir()), {
      onProgress: (p) => {
        seen.push(p.inserted);
        if (p.total === 500 && p.etaMs !== undefined) sawEta = true;
      },
    });
    expect(seen.at(-1)).toBe(500);
    expect(sawEta).toBe(true);
  });
});
