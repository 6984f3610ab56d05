import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordError, targetToken, type BatchResult, type Target } from '@qiao/core';
import { resubmitCheckKey } from '../src/index.js';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, startYonbipSandbox, type YonbipSandbox } from '../src/sandbox/index.js';
import { connect, customer, range, raw, writeCtx } from './helpers.js';

let sb: YonbipSandbox;
beforeEach(async () => {
  sb = await startYonbipSandbox();
});
afterEach(() => sb.stop());

const batchOf = (ids: number[], key = (i: number) => `k${i}`) => ids.map((i) => ({ payload: customer(i, { customerClass: YONBIP_SANDBOX_CUSTOMER_CLASS }), ctx: writeCtx(key(i)) }));
const target = (op: string, config: Record<string, unknown> = {}): Target => connect(sb, { config }).container.resolve<Target>(targetToken(op));
const ok = (r: BatchResult | undefined) => (r?.ok ? r.result : undefined);

describe('the V2 simulator holds the notes', () => {
  it('newlist answers a bare array, pages up to 5000, names as simplifiedName', async () => {
    for (const i of range(3)) sb.seedMerchant({ code: `S${i}`, name: `种子${i}` });
    const token = await raw.token(sb);
    const page = JSON.parse((await raw.post(sb, '/yonbip/digitalModel/merchant/newlist', token, '{"pageIndex":1,"pageSize":2}')).text);
    expect(page.code).toBe('200');
    expect(Array.isArray(page.data)).toBe(true);
    expect(page.data).toHaveLength(2);
    expect(page.data[0]).toMatchObject({ code: 'S0', name: { simplifiedName: '种子0' }, createOrgCode: 'qiao-sim' });
    const tooBig = JSON.parse((await raw.post(sb, '/yonbip/digitalModel/merchant/newlist', token, '{"pageIndex":1,"pageSize":5001}')).text);
    expect(tooBig.code).toBe('999');
  });

  it('batch/merchant/save applies each record alone and reports failures with failCount and messages', async () => {
    sb.seedMerchant({ code: 'X', name: '客户1' });
    const token = await raw.token(sb);
    const rec = (i: number) => ({ _status: 'Insert', code: `C${i}`, org_code: 'qiao-sim', name: { zh_CN: `客户${i}` }, customerClass_code: '01', merchantAppliedDetail: { stopstatus: false, _status: 'Insert' } });
    const answer = JSON.parse((await raw.post(sb, '/yonbip/digitalModel/batch/merchant/save', token, JSON.stringify({ data: [rec(0), rec(1), rec(2)] }))).text);
    expect(answer).toMatchObject({ code: 200, data: { count: 3, sucessCount: 2, failCount: 1, messages: [{ key: 'C1' }] } });
    expect(answer.data.infos.map((i: { code: string }) => i.code)).toEqual(['C0', 'C2']);
    // one record: the documented answer, the customer object itself
    const one = JSON.parse((await raw.post(sb, '/yonbip/digitalModel/batch/merchant/save', token, JSON.stringify({ data: [rec(5)] }))).text);
    expect(one).toMatchObject({ code: 200, data: { code: 'C5' } });
  });
});

describe('merchant.batchSave', () => {
  it('loads the index once with newlist and saves 250 customers in 3 batch calls', async () => {
    for (const i of range(5)) sb.seedMerchant({ code: `C${i}`, name: `旧名${i}` });
    const t = target('merchant.batchSave');
    await t.warmUp!(new AbortController().signal);
    const results: BatchResult[] = [];
    for (const chunk of [range(100), range(100).map((i) => i + 100), range(50).map((i) => i + 200)]) results.push(...(await t.writeBatch!(batchOf(chunk))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => ok(r)?.outcome === 'updated')).toHaveLength(5);
    expect(sb.merchants()).toHaveLength(250);
    expect(sb.merchantByCode('C3')?.name.zh_CN).toBe('客户3');
    expect(sb.counters).toMatchObject({ newlist: 1, batchSave: 3, save: 0, list: 0 });
    expect([...sb.insertsByCode().values()].every((n) => n === 1)).toBe(true);
  });

  it('two records refused in a batch answer fail alone; the rest are written once', async () => {
    sb.seedMerchant({ code: 'OTHER3', name: '客户3' });
    sb.seedMerchant({ code: 'OTHER7', name: '客户7' });
    const t = target('merchant.batchSave');
    const results = await t.writeBatch!(batchOf(range(10)));
    const failed = results.flatMap((r, i) => (r.ok ? [] : [[i, r.error] as const]));
    expect(failed.map(([i]) => i)).toEqual([3, 7]);
    for (const [, e] of failed) expect(e).toBeInstanceOf(RecordError);
    expect((failed[0]![1] as Error).message).toMatch(/客户3|名称/);
    expect(sb.counters.batchSave).toBe(1);
    expect([...sb.insertsByCode().entries()].filter(([c]) => c.startsWith('C')).map(([, n]) => n)).toEqual(Array(8).fill(1));
  });

  it('a lost batch answer is resolved by newBatchDetail before anything is resent: each customer once', async () => {
    sb.dropAfterCommit(1);
    const t = target('merchant.batchSave');
    const results = await t.writeBatch!(batchOf(range(20)));
    expect(results.every((r) => r.ok && r.result.outcome === 'inserted' && r.result.id)).toBe(true);
    expect(sb.counters.batchDetail).toBe(1);
    expect(sb.counters.batchSave).toBe(1);
    expect(sb.merchants()).toHaveLength(20);
    expect([...sb.insertsByCode().values()].every((n) => n === 1)).toBe(true);
  });

  it('310504 after a committed batch: found by lookup, not inserted again', async () => {
    sb.answerCode('310504', { on: 'batchSave', times: 1 });
    const results = await target('merchant.batchSave').writeBatch!(batchOf(range(5)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sb.merchants()).toHaveLength(5);
    expect(sb.counters.batchSave).toBe(1);
  });

  it('a whole-batch 999 without detail is split, so one bad record does not sink the others', async () => {
    const t = target('merchant.batchSave');
    const items = batchOf(range(4));
    // the sandbox answers 999 服务端逻辑异常 for a malformed batch; here: a code the platform refuses as a whole
    sb.answerCode('999', { on: 'batchSave', times: 1 });
    const results = await t.writeBatch!(items);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sb.counters.batchSave).toBe(5);
    expect(sb.merchants()).toHaveLength(4);
  });

  it('merchant.save with connection api v2 is the batch operation', async () => {
    const t = target('merchant.save', { api: 'v2' });
    expect(typeof t.writeBatch).toBe('function');
    expect(typeof target('merchant.save').writeBatch).toBe('undefined');
  });
});

describe('merchant.newinsert', () => {
  it('inserts with a stable resubmitCheckKey; a lost answer is resent with the same key and inserts once', async () => {
    expect(resubmitCheckKey('42', 'C1')).toHaveLength(32);
    expect(resubmitCheckKey('42', 'C1')).toBe(resubmitCheckKey('42', 'C1'));
    sb.dropAfterCommit(1);
    const t = target('merchant.newinsert');
    const r = await t.write(customer(1), writeCtx('k1'));
    expect(r).toMatchObject({ outcome: 'inserted', id: sb.merchantByCode('C1')?.id, targetCode: 'C1' });
    expect(sb.counters.newinsert).toBe(2);
    expect(sb.insertsByCode().get('C1')).toBe(1);
  });

  it('updates an existing customer with newupdate, found in the newlist index', async () => {
    const seeded = sb.seedMerchant({ code: 'C2', name: '旧名' });
    const t = target('merchant.newinsert');
    const r = await t.write(customer(2), writeCtx('k2'));
    expect(r).toEqual({ outcome: 'updated', id: seeded.id, targetCode: 'C2' });
    expect(sb.merchantByCode('C2')?.name.zh_CN).toBe('客户2');
    expect(sb.counters).toMatchObject({ newlist: 1, newupdate: 1, newinsert: 0 });
  });
});
