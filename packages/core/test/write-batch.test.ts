import { describe, expect, it } from 'vitest';
import { loadScheme, RetryableError, runLoadedScheme, SqliteStateStore, wireScheme, type BatchItem, type BatchResult, type Target } from '../src/index.js';
import { memoryTargetStore } from '../src/testing/index.js';
import { memoryResolver, tempDir, writeTemp } from './helpers.js';

const dir = tempDir('qiao-batch-');
let n = 0;

async function setup(params: string, mapping = 'code: id\n  name.zh_CN: name\n  poison: poison', storeName = `batch-${++n}`, id = `batch-${n}`, readDelayMs = 0) {
  const file = writeTemp(
    dir,
    `b${n}-${Math.random().toString(36).slice(2)}.yaml`,
    `version: 1
id: ${id}
source:
  connector: memory
  stream: records
  params: ${params}
  connection: { readDelayMs: ${readDelayMs} }
target:
  connector: memory
  operation: records.save
  connection: { store: ${storeName} }
mapping:
  ${mapping}
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

  it('writers take turns to gather while the source is read slowly: batches hold what arrived during a whole linger, not a share of it', async () => {
    // 300 records, 5 per page every 50 ms: ~3 s of reading, four writers.
    const { loaded, wired } = await setup('{ count: 300, pageSize: 5 }', undefined, undefined, undefined, 50);
    const sizes: number[] = [];
    const report = await runLoadedScheme(loaded, new SqliteStateStore(tempDir()), { wired: { ...wired, target: batching(wired.target, sizes) }, writeBatchSize: 100, concurrency: 4 });
    expect(report).toMatchObject({ status: 'succeeded', counts: { inserted: 300 } });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(300);
    // About one batch per second of reading (measured: 4 calls in ~3.5 s). Gathering side by side, the
    // writer whose linger ended first took nearly everything and the three others sent a record each,
    // every second (measured: 16).
    expect(sizes.length, JSON.stringify(sizes)).toBeLessThanOrEqual(Math.ceil(report.durationMs / 1000) + 3);
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

describe('batches go through the same checks as a write alone', () => {
  /** A batching target that records every item's context and answers a code of its own (a coding rule). */
  function recording(target: Target, seen: BatchItem[]): Target {
    return {
      write: (p, c) => target.write(p, c),
      async writeBatch(items: BatchItem[]): Promise<BatchResult[]> {
        const out: BatchResult[] = [];
        for (const item of items) {
          seen.push(item);
          const r = await target.write(item.payload, item.ctx);
          out.push({ ok: true, result: { ...r, targetCode: `AUTO-${String(item.payload.code)}` } });
        }
        return out;
      },
    };
  }

  it('two source records with one code: the second is a key_collision dead letter and never reaches the target; the rerun hands the code the target answered and the clears', async () => {
    const dup = `code: "id = 'R0000007' ? 'R0000003' : id"\n  name.zh_CN: name\n  city: city`;
    const a = await setup('{ count: 40, pageSize: 40 }', dup);
    const store = new SqliteStateStore(tempDir());
    const seen: BatchItem[] = [];
    const first = await runLoadedScheme(a.loaded, store, { wired: { ...a.wired, target: recording(a.wired.target, seen) }, writeBatchSize: 20, concurrency: 1 });
    expect(first).toMatchObject({ status: 'partial', counts: { read: 40, inserted: 39, failed: 1 } });
    expect(first.errors[0]).toMatchObject({ code: 'target.key_collision' });
    expect(first.errors[0]!.message).toMatch(/record R0000007 \(记录 7\) maps to code "R0000003", which record R0000003 \(记录 3\)/);
    expect(seen.map((i) => i.ctx.key)).not.toContain('R0000007');
    expect(seen).toHaveLength(39);
    const t = memoryTargetStore(a.storeName);
    expect(t.records.get('R0000003')?.payload.name).toEqual({ zh_CN: '记录 3' });
    expect(t.inserts.get('R0000003')).toBe(1);

    // The same scheme, its mapping no longer filling city: each update hands the id map's id and code, and clears city.
    const b = await setup('{ count: 40, pageSize: 40 }', `code: "id = 'R0000007' ? 'R0000003' : id"\n  name.zh_CN: name`, a.storeName, a.loaded.scheme.id);
    seen.length = 0;
    const second = await runLoadedScheme(b.loaded, store, { wired: { ...b.wired, target: recording(b.wired.target, seen) }, writeBatchSize: 20, concurrency: 1, full: true });
    expect(second).toMatchObject({ counts: { updated: 39, failed: 1 } });
    const r5 = seen.find((i) => i.ctx.key === 'R0000005')!;
    expect(r5.ctx).toMatchObject({ knownId: t.records.get('R0000005')!.id, knownCode: 'AUTO-R0000005', clears: ['city'] });
    expect(typeof r5.ctx.checkFound).toBe('function');
    expect(seen.map((i) => i.ctx.key)).not.toContain('R0000007');
  });
});
