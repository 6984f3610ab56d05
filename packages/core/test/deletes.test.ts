import { describe, expect, it } from 'vitest';
import {
  DeclarativeMapper,
  RecordError,
  runScheme,
  type DeletedRecord,
  type RemoveContext,
  type Remover,
  type Source,
  type SourceRecord,
  type Target,
} from '../src/index.js';
import { backends } from './state-backends.js';

/** A source of live records and deleted ones, both changed between runs by the test. */
class ListSource implements Source {
  live: SourceRecord[] = [];
  deleted: DeletedRecord[] = [];
  async *read(): AsyncGenerator<SourceRecord> {
    yield* this.live;
  }
  async *readDeleted(): AsyncGenerator<DeletedRecord> {
    yield* this.deleted;
  }
}

const target: Target = { write: async (_p, ctx) => ({ outcome: 'inserted', id: `T${ctx.key}` }) };

class CountingRemover implements Remover {
  stops: RemoveContext[] = [];
  starts: string[] = [];
  /** Keys the target refuses to stop. */
  refuse = new Set<string>();
  async remove(ctx: RemoveContext) {
    if (this.refuse.has(ctx.key)) {
      throw new RecordError('refused', { reason: 'test.refused' });
    }
    this.stops.push(ctx);
    return { outcome: 'stopped' as const };
  }
  async restore(ctx: RemoveContext) {
    this.starts.push(ctx.key);
    return { outcome: 'started' as const };
  }
}

const rec = (key: string, name: string): SourceRecord => ({ stream: 's', key, data: { name } });
const mapper = DeclarativeMapper.compile({ code: 'name', org: { value: '42' } }, 'test').mapper;

describe.each(backends)('deleted source records on the %s store', (_name, make) => {
  it('stop: stops only delivered keys, with the mapped deleted record; retries a failed stop next run; starts a record that comes back', async () => {
    const store = await make();
    const source = new ListSource();
    const remover = new CountingRemover();
    const run = () => runScheme({ scheme: 'x', stream: 's', source, mapper, target, store, onDelete: 'stop', remover });
    source.live = [rec('1', 'A'), rec('2', 'B'), rec('3', 'C')];
    await run();

    source.live = [rec('3', 'C')];
    source.deleted = [
      { stream: 's', key: '1', deletedAt: '2026-01-01 10:00:00', data: { name: 'A' } },
      { stream: 's', key: '2', data: { name: 'B' } },
      { stream: 's', key: '9', data: { name: 'never delivered' } },
    ];
    remover.refuse.add('1');
    const second = await run();
    expect(second.deletions).toMatchObject({ read: 3, stopped: 1, notDelivered: 1, failed: 1 });
    expect(second.status).toBe('partial');
    expect(remover.stops.map((c) => [c.knownId, c.payload])).toEqual([['T2', { code: 'B', org: '42' }]]);
    expect(await store.deletionCounts('x')).toEqual({ stopped: 1, stop_failed: 1, not_delivered: 1 });

    // listed again (look-back): the stopped one is not stopped twice, the failed one is retried
    remover.refuse.clear();
    const third = await run();
    expect(third.deletions).toMatchObject({ stopped: 1, failed: 0 });
    expect(remover.stops.map((c) => c.knownId)).toEqual(['T2', 'T1']);
    const one = (await store.deletionsOf('x', ['1'])).get('1');
    expect(one).toMatchObject({ status: 'stopped', name: 'A', deletedAt: '2026-01-01 10:00:00', targetId: 'T1' });

    // key 2 restored in the source: read live again, no longer listed deleted
    source.live = [rec('2', 'B'), rec('3', 'C')];
    source.deleted = source.deleted.filter((d) => d.key !== '2');
    const fourth = await run();
    expect(fourth.deletions).toMatchObject({ restored: 1 });
    expect(remover.starts).toEqual(['2']);
    expect((await store.deletionsOf('x', ['2'])).size).toBe(0);
    await store.close();
  });

  it('a stop recorded but not done (the process died) is done by the next run', async () => {
    const store = await make();
    const source = new ListSource();
    const remover = new CountingRemover();
    source.live = [rec('1', 'A')];
    await runScheme({ scheme: 'x', stream: 's', source, mapper, target, store, onDelete: 'stop', remover });
    // what a run killed between recording the stop and calling the target leaves behind
    await store.saveDeletions('x', 'killed', [{ key: '1', status: 'stop_pending', targetId: 'T1', source: { name: 'A' } }]);
    source.live = [];
    const next = await runScheme({ scheme: 'x', stream: 's', source, mapper, target, store, onDelete: 'stop', remover });
    expect(next.deletions).toMatchObject({ stopped: 1 });
    expect(remover.stops.map((c) => c.knownId)).toEqual(['T1']);
    await store.close();
  });

  it('report: nothing reaches the target; each deletion is logged once, newest first', async () => {
    const store = await make();
    const source = new ListSource();
    const remover = new CountingRemover();
    source.live = [rec('1', 'A'), rec('2', 'B')];
    source.deleted = [{ stream: 's', key: '1', data: { name: 'A' } }];
    const first = await runScheme({ scheme: 'x', stream: 's', source, mapper, target, store, onDelete: 'report', remover });
    expect(first.deletions).toMatchObject({ read: 1, reported: 1, stopped: 0 });
    source.deleted.push({ stream: 's', key: '2', data: { name: 'B' } });
    const second = await runScheme({ scheme: 'x', stream: 's', source, mapper, target, store, onDelete: 'report', remover });
    expect(second.deletions).toMatchObject({ read: 2, reported: 1 });
    expect(remover.stops).toHaveLength(0);
    const list = await store.listDeletions('x');
    expect(list.map((d) => [d.key, d.status, d.runId])).toEqual([
      ['2', 'reported', second.runId],
      ['1', 'reported', first.runId],
    ]);
    await store.close();
  });
});
