import { describe, expect, it } from 'vitest';
import { loadScheme, RetryableError, runLoadedScheme, wireScheme, type LoadedScheme, type Target } from '../src/index.js';
import { memoryTargetStore } from '../src/testing/index.js';
import { memoryResolver, tempDir, writeTemp } from './helpers.js';
import { durableBackends } from './state-backends.js';

const dir = tempDir('qiao-exec-state-');
let n = 0;

async function scheme(params: string): Promise<{ loaded: LoadedScheme; storeName: string }> {
  const storeName = `exec-state-${process.pid}-${++n}`;
  const text = `version: 1
id: exec-state-${n}
source:
  connector: memory
  stream: records
  params: ${params}
target:
  connector: memory
  operation: records.save
  connection: { store: ${storeName} }
mapping:
  code: id
  name.zh_CN: name
  amount: amount
  poison: poison
`;
  const file = writeTemp(dir, `s${n}.yaml`, text);
  return { loaded: await loadScheme(file, { resolver: memoryResolver, env: {} }), storeName };
}

/** The executor on each store that outlives a process: what a run of `qiao run` does with `--state` or `--database`. */
describe.each(durableBackends)('runs on the %s store', (_name, backend) => {
  it('delivers every record once; a rerun from another process reads from the cursor and writes nothing', async () => {
    const { loaded, storeName } = await scheme('{ count: 300, pageSize: 40 }');
    const state = await backend.fresh();
    const first = await runLoadedScheme(loaded, await state.open(), { batchSize: 25, maxQueued: 30 });
    expect(first).toMatchObject({ status: 'succeeded', counts: { read: 300, inserted: 300, updated: 0, skipped: 0, failed: 0 } });
    const target = memoryTargetStore(storeName);
    expect(target.records.size).toBe(300);
    expect([...target.inserts.values()].every((c) => c === 1)).toBe(true);

    const other = await state.open();
    expect(await other.getCursor(loaded.scheme.id, 'records')).toBe('2026-01-01T00:05:00.000Z');
    const second = await runLoadedScheme(loaded, other);
    expect(second.counts).toEqual({ read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 });
    const full = await runLoadedScheme(loaded, other, { full: true });
    expect(full.counts).toEqual({ read: 300, inserted: 0, updated: 0, skipped: 300, failed: 0 });
    expect((await other.runs(loaded.scheme.id)).map((r) => r.runId)).toEqual([full.runId, second.runId, first.runId]);
    expect(await other.counts(loaded.scheme.id)).toEqual({ pending: 0, 'in-flight': 0, done: 300, dead: 0 });
  });

  it('keeps dead letters with their reason; re-queued, they are delivered once the cause is fixed', async () => {
    const { loaded, storeName } = await scheme('{ count: 40, poisonEvery: 10 }');
    const state = await backend.fresh();
    const store = await state.open();
    const report = await runLoadedScheme(loaded, store);
    expect(report).toMatchObject({ status: 'partial', counts: { inserted: 36, failed: 4 } });
    expect(await store.deadGroups(loaded.scheme.id)).toEqual([expect.objectContaining({ code: 'memory.poison', count: 4 })]);
    expect(await store.requeueDead(loaded.scheme.id)).toBe(4);
    loaded.target.connection.acceptPoison = true;
    const retry = await runLoadedScheme(loaded, store, { drainOnly: true });
    expect(retry).toMatchObject({ status: 'succeeded', counts: { inserted: 4, failed: 0 } });
    expect(memoryTargetStore(storeName).records.size).toBe(40);
  });

  it('never moves the cursor past a record that was not delivered; the next run resumes the queue, each record written once', async () => {
    const { loaded, storeName } = await scheme('{ count: 100 }');
    const state = await backend.fresh();
    const store = await state.open();
    const wired = wireScheme(loaded);
    let writes = 0;
    const flaky: Target = {
      write: async (p, ctx) => {
        if (++writes > 30) throw new RetryableError('YonBIP unreachable', { reason: 'memory.network' });
        return wired.target.write(p, ctx);
      },
    };
    const failed = await runLoadedScheme(loaded, store, { wired: { ...wired, target: flaky }, concurrency: 1 });
    expect(failed).toMatchObject({ status: 'failed', fatal: { code: 'memory.network' } });
    expect(await store.getCursor(loaded.scheme.id, 'records')).toBeUndefined();
    expect((await store.counts(loaded.scheme.id)).pending).toBeGreaterThan(0);
    await store.close();

    const resumed = await runLoadedScheme(loaded, await state.open());
    expect(resumed.status).toBe('succeeded');
    expect(resumed.resumed).toBeGreaterThan(0);
    const target = memoryTargetStore(storeName);
    expect(target.records.size).toBe(100);
    expect([...target.inserts.values()].every((c) => c === 1)).toBe(true);
  });
});
