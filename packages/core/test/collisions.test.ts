import { describe, expect, it } from 'vitest';
import { KeyGuard, KEY_COLLISION } from '../src/executor/collisions.js';
import { clearsFor, fieldsOf } from '../src/executor/clears.js';
import { RecordError, type AnyStateStore } from '../src/index.js';
import { backends } from './state-backends.js';

async function delivered(store: AnyStateStore, key: string, d: { targetId: string; targetCode?: string; businessKey?: string }) {
  await store.enqueue('s', 'r', [{ key, payload: {}, fingerprint: 'f' }]);
  const [item] = await store.claim('s', 1);
  await store.complete('s', [{ id: item!.id, key, fingerprint: 'f', outcome: 'inserted', ...d }]);
}

describe.each(backends)('KeyGuard: one target record per source record (%s store)', (_name, make) => {
  it('refuses a code the id map gives another key, by the mapped key or by the code the target answered', async () => {
    const store = await make();
    await delivered(store, 'A', { targetId: 'T1', targetCode: 'AUTO-1', businessKey: 'C1' });
    const guard = new KeyGuard({ store, scheme: 's', upsertKey: 'code' });
    const byKey = await guard.check('B', { code: 'C1', name: { zh_CN: '乙公司' } });
    expect(byKey).toBeInstanceOf(RecordError);
    expect(byKey!.reason).toBe(KEY_COLLISION);
    expect(byKey!.message).toMatch(/record B \(乙公司\) maps to code "C1", which record A already holds in the id map \(target id T1, code AUTO-1\)/);
    expect((await guard.check('C', { code: 'AUTO-1' }))?.reason).toBe(KEY_COLLISION);
    // its own code, and a free one, pass
    expect(await guard.check('A', { code: 'C1' })).toBeUndefined();
    expect(await guard.check('D', { code: 'C9' })).toBeUndefined();
  });

  it('refuses the second of two keys with one code in one run, whichever writer gets there first', async () => {
    const guard = new KeyGuard({ store: await make(), scheme: 's', upsertKey: 'code' });
    const [a, b] = await Promise.all([guard.check('A', { code: 'X', name: '甲' }), guard.check('B', { code: 'X', name: '乙' })]);
    expect(a).toBeUndefined();
    expect(b?.message).toMatch(/record B \(乙\) maps to code "X", which record A \(甲\) is being written by this run/);
  });

  it('checkFound: a record a lookup found that the id map (an older row without codes) or this run ties to another key is refused', async () => {
    const store = await make();
    await delivered(store, 'A', { targetId: 'T1' });
    const guard = new KeyGuard({ store, scheme: 's', upsertKey: 'code' });
    await expect(guard.checkFound('B', { code: 'X' })({ id: 'T1', code: 'X' })).rejects.toMatchObject({ reason: KEY_COLLISION });
    await expect(guard.checkFound('A', { code: 'X' })({ id: 'T1', code: 'X' })).resolves.toBeUndefined();
    guard.written('C', { code: 'Y' }, { outcome: 'inserted', id: 'T7', targetCode: 'AUTO-7' });
    await expect(guard.checkFound('D', { code: 'Z' })({ id: 'T7' })).rejects.toThrow(/record C .*target id T7/);
    await expect(guard.checkFound('D', { code: 'Z' })({ id: 'T8' })).resolves.toBeUndefined();
  });
});

describe('clears', () => {
  it('clears the fields delivered before and empty now, except those kept; nothing when the last fields are unknown', () => {
    expect(fieldsOf({ code: 'C', website: 'w', address: null, name: { zh_CN: 'n' } })).toEqual(['code', 'name', 'website']);
    expect(clearsFor(['address', 'code', 'shortname', 'website'], { code: 'C' }, new Set(['website']))).toEqual(['address', 'shortname']);
    expect(clearsFor(null, { code: 'C' }, new Set())).toEqual([]);
  });
});
