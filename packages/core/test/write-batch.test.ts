import { describe, expect, it } from 'vitest';
import { loadScheme, RetryableError, runLoadedScheme, SqliteStateStore, wireScheme, type BatchItem, type BatchResult, type Target } from '../src/index.js';
import { memoryTargetStore } from '../src/testing/index.js';
import { memoryResolver, tempDir, writeTemp } from './helpers.js';

const dir = tempDir('qiao-batch-');
let n = 0;

async function setup(params: string) {
  const storeName = `batch-${++n}`;
  const file = writeTemp(
    dir,
    `b${n}.yaml`,
    `version: 1
id: batch-${n}
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
  poison: poison
`,
  );
  const loaded = await loadScheme(file, { resolver: memoryResolver, env: {} });
  const wired = wireScheme(loaded);
  return { loaded, wired, storeName };
}

/** The memory target with a writeBatch that writes each item through `write`, recording batch sizes. */
function batching(target: Target, sizes: number[], fail?: (i: number, item: BatchItem) => unknown): Target {
  return {
    write: (p, c) => target.write(p, c),
    async writeBatch(items: BatchItem[]): Promise<BatchResult[]> {
      sizes.push(items.length);
      const out: BatchResult[] = [];
      for (const [i, item] of items.entries()) {
        const injected = fail?.(i, item);
        if (injected) {
          out.push({ ok: false, error: injected });
          continue;
        }
        try {
          out.push({ ok: true, result: await target.write(item.payload, item.ctx) });
        } catch (error) {
          out.push({ ok: false, error });
        }
      }
      return out;
    },
  };
}

describe('batches (write-batch.ts)', () => {
  it('hands the target up to the batch size; per-record failures are those records’ dead letters, the rest written once', async () => {
    const { loaded, wired, storeName } = await setup('{ count: 200, pageSize: 200, poisonEvery: 50 }');
    const sizes: number[] = [];
    const store = new SqliteStateStore(tempDir());
    const report = await runLoadedScheme(loaded, store, { wired: { ...wired, target: batching(wired.target, sizes) }, writeBatchSize: 25 });
    expect(report).toMatchObject({ status: 'partial', counts: { read: 200, inserted: 196, failed: 4 } });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200);
    expect(sizes.length).toBeLessThan(25); // batches, not one call per record (4 writers may each hold a partial one)
    const target = memoryTargetStore(storeName);
    expect(target.records.size).toBe(196);
    expect([...target.inserts.values()].every((c) => c === 1)).toBe(true);
    expect((await store.counts(loaded.scheme.id)).dead).toBe(4);
  });

  it('a batch whose outcome is unknown leaves every item maybe-written and pending, and the run stops; the rerun writes each once', async () => {
    const { loaded, wired, storeName } = await setup('{ count: 60, pageSize: 60 }');
    const store = new SqliteStateStore(tempDir());
    let lost = false;
    const target = batching(wired.target, []);
    const losing: Target = {
      write: target.write.bind(target),
      async writeBatch(items) {
        const r = await target.writeBatch!(items);
        if (!lost) {
          lost = true; // applied, then the answer is lost
          throw new RetryableError('answer lost', { reason: 'test.lost', outcomeUnknown: true });
        }
        return r;
      },
    };
    const first = await runLoadedScheme(loaded, store, { wired: { ...wired, target: losing }, writeBatchSize: 20, concurrency: 1 });
    expect(first.status).toBe('failed');
    const items = await store.list(loaded.scheme.id, { status: 'pending', limit: 100 });
    expect(items.filter((i) => i.maybeWritten).length).toBeGreaterThan(0);
    const again = await runLoadedScheme(loaded, store, { wired: { ...wired, target: losing }, writeBatchSize: 20 });
    expect(again.status).toBe('succeeded');
    const t = memoryTargetStore(storeName);
    expect(t.records.size).toBe(60);
    expect([...t.inserts.values()].every((c) => c === 1)).toBe(true);
  });
});
