import { afterEach, describe, expect, it } from 'vitest';
import { DeclarativeMapper, RecordError, createAjv, type WriteResult } from '@qiao/core';
import { merchantSaveManifest } from '../src/index.js';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, YONBIP_SANDBOX_ORG, startYonbipSandbox, type YonbipSandbox, type YonbipSandboxOptions } from '../src/sandbox/index.js';
import { connect, customer, writeCtx } from './helpers.js';

let sb: YonbipSandbox | undefined;
async function start(options: YonbipSandboxOptions = {}): Promise<YonbipSandbox> {
  sb = await startYonbipSandbox(options);
  return sb;
}
afterEach(async () => {
  await sb?.stop();
  sb = undefined;
});

/**
 * The id map as the state store must keep it (lead: wire this in core/state + the executor): the
 * source key → BIP's id and the code BIP answered, handed back as knownId / knownCode.
 */
class FakeIdMap {
  readonly entries = new Map<string, { id: string; code: string | undefined }>();
  ctx(key: string) {
    const e = this.entries.get(key);
    return writeCtx(key, e ? { knownId: e.id, knownCode: e.code } : {});
  }
  remember(key: string, result: WriteResult): WriteResult {
    if (result.id) this.entries.set(key, { id: result.id, code: result.targetCode });
    return result;
  }
}

describe('coding rules (编码规则): BIP replaces the code on insert', () => {
  it('a regenerated code, then an OKKI edit and a rerun: one YonBIP record, updated (fake id map)', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    const { target } = connect(s);
    const ids = new FakeIdMap();
    const first = ids.remember('okki-1', await target.write(customer(1), ids.ctx('okki-1')));
    expect(first).toEqual({ outcome: 'inserted', id: expect.stringMatching(/^\d{19}$/), targetCode: 'KH000001' });
    expect(s.merchantByCode('C1')).toBeUndefined();
    expect(s.merchantByCode('KH000001')?.id).toBe(first.id);
    expect(ids.entries.get('okki-1')).toEqual({ id: first.id, code: 'KH000001' });

    // OKKI edit, rerun: the payload still carries the OKKI code C1
    const second = ids.remember('okki-1', await target.write(customer(1, { website: 'https://moved.example' }), ids.ctx('okki-1')));
    expect(second).toEqual({ outcome: 'updated', id: first.id, targetCode: 'KH000001' });
    expect(s.merchants()).toHaveLength(1);
    expect(s.merchantByCode('KH000001')?.website).toBe('https://moved.example');
    expect(s.counters).toMatchObject({ inserts: 1, updates: 1 });
    // by id and BIP's code: no lookup, no refused update
    expect(s.counters.list).toBe(1);
    expect(s.counters.save).toBe(2);
  });

  it('an id map entry without the code (written before targetCode existed) still updates the one record', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    const { target } = connect(s);
    const { id } = await target.write(customer(2), writeCtx('k2'));
    // The update sends C2, BIP refuses to change its code; the operation reads BIP's code by id and repeats.
    const result = await target.write(customer(2, { email: 'a@b.cn' }), writeCtx('k2', { knownId: id }));
    expect(result).toEqual({ outcome: 'updated', id, targetCode: 'KH000001' });
    expect(s.merchants()).toHaveLength(1);
    expect(s.merchantByCode('KH000001')?.email).toBe('a@b.cn');
    const detail = s.requests.find((r) => r.path.endsWith('/merchant/detail'));
    expect(detail?.rawQuery).toContain(`orgId=${YONBIP_SANDBOX_ORG}`);
  });

  it('a maybe-written insert whose code was replaced is found by its exact name, never inserted twice', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    const { target } = connect(s);
    // an earlier process inserted it, then died before it stored the id
    await target.write(customer(3), writeCtx('k3'));
    const result = await target.write(customer(3, { postCode: '200000' }), writeCtx('k3', { maybeWritten: true }));
    expect(result).toEqual({ outcome: 'updated', id: s.merchantByCode('KH000001')?.id, targetCode: 'KH000001' });
    expect(s.merchants()).toHaveLength(1);
    expect(s.counters.inserts).toBe(1);
  });

  it('310504 after a committed insert under a coding rule: found by name, exactly one record', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    s.answerCode('310504', { on: 'save', times: 1 });
    const { target } = connect(s);
    const result = await target.write(customer(4), writeCtx('k4'));
    expect(result).toEqual({ outcome: 'inserted', id: s.merchantByCode('KH000001')?.id, targetCode: 'KH000001' });
    expect(s.merchants()).toHaveLength(1);
    expect(s.counters.save).toBe(1);
  });

  it('a lost answer to an insert under a coding rule (connection dropped): found by name, one record', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    const { target } = connect(s);
    s.dropAfterCommit(1, 'destroy');
    const result = await target.write(customer(5), writeCtx('k5'));
    expect(result).toMatchObject({ outcome: 'inserted', targetCode: 'KH000001' });
    expect(s.merchants()).toHaveLength(1);
  });

  it('the sandbox refuses an Update that changes a rule-made code, and keeps codes when there is no rule', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    const { client, target } = connect(s);
    const { id } = await target.write(customer(6), writeCtx('k6'));
    await expect(
      client.post('/yonbip/digitalModel/merchant/save', { data: { id, code: 'C6', name: { zh_CN: '客户6' }, _status: 'Update' } }),
    ).rejects.toMatchObject({ reason: 'yonbip.999', message: expect.stringContaining('编码规则') });
    s.setCodingRule(undefined);
    expect((await target.write(customer(7), writeCtx('k7'))).targetCode).toBe('C7');
  });
});

describe('business details (merchantAppliedDetail)', () => {
  const mapping = {
    code: 'serial_id',
    'name.zh_CN': 'name',
    createOrg: { value: YONBIP_SANDBOX_ORG },
    customerClass: { value: YONBIP_SANDBOX_CUSTOMER_CLASS },
    'merchantAppliedDetail.professSalesman': { value: '1870412293664490001' },
    'merchantAppliedDetail.taxRate': 'tax_rate_id',
    'merchantAppliedDetail.stopstatus': { value: false },
  };

  it('a tenant that requires salesperson and tax rate refuses an insert without them, with its message', async () => {
    const s = await start({ requiredAppliedDetail: ['professSalesman', 'taxRate'] });
    const { target } = connect(s);
    const e = (await target.write(customer(1), writeCtx('k1')).then(
      () => undefined,
      (error: unknown) => error,
    )) as RecordError;
    expect(e).toBeInstanceOf(RecordError);
    expect(e.reason).toBe('yonbip.999');
    expect(e.message).toContain('客户业务信息的[专管业务员]不能为空!');
    expect(s.merchants()).toHaveLength(0);
  });

  it('a required merchantAppliedDetail mapped from the scheme is accepted, ids kept exact', async () => {
    const s = await start({ requiredAppliedDetail: ['professSalesman', 'taxRate'] });
    const { target } = connect(s);
    const { mapper, problems } = DeclarativeMapper.compile(mapping);
    expect(problems).toEqual([]);
    const payload = await mapper.map({ stream: 'company', key: '42', data: { serial_id: 'OKKI-42', name: '上海桥联科技有限公司', tax_rate_id: '1568679441441228607' } });
    // the operation's input schema (what the scheme's payload check runs) accepts it
    const check = createAjv().compile(merchantSaveManifest.input);
    expect(check(payload), JSON.stringify(check.errors)).toBe(true);
    const result = await target.write(payload, writeCtx('42'));
    expect(result.outcome).toBe('inserted');
    expect(s.merchantByCode('OKKI-42')?.merchantAppliedDetail).toMatchObject({
      professSalesman: '1870412293664490001',
      taxRate: '1568679441441228607',
      stopstatus: false,
    });
    // an update merges the details, the required ones stay
    await target.write({ ...payload, merchantAppliedDetail: { stopstatus: true } }, writeCtx('42', { knownId: result.id, knownCode: result.targetCode }));
    expect(s.merchantByCode('OKKI-42')?.merchantAppliedDetail).toMatchObject({ professSalesman: '1870412293664490001', stopstatus: true });
    expect(s.merchants()).toHaveLength(1);
  });

  it('refuses a detail id that lost its digits as a JSON number, before any request', async () => {
    const s = await start();
    const { target } = connect(s);
    await expect(
      target.write(customer(2, { merchantAppliedDetail: { professSalesman: 1870412293664490001 } }), writeCtx('k2')),
    ).rejects.toMatchObject({ reason: 'yonbip.input', message: expect.stringContaining('merchantAppliedDetail.professSalesman') });
    expect(s.counters.save).toBe(0);
  });
});

describe('merchant/detail needs orgId or merchantApplyRangeId', () => {
  it('the sandbox refuses a detail call with the id alone; the operation sends orgId (createOrg)', async () => {
    const s = await start();
    const { client, target } = connect(s);
    const { id } = await target.write(customer(1, { merchantContacterInfos: [{ fullName: { zh_CN: '张三' } }] }), writeCtx('k1'));
    await expect(client.get('/yonbip/digitalModel/merchant/detail', { id })).rejects.toMatchObject({
      reason: 'yonbip.999',
      message: expect.stringContaining('merchantApplyRangeId和orgId不能同时为空'),
    });
    await expect(client.get('/yonbip/digitalModel/merchant/detail', { id, orgId: '1870412293664480001' })).rejects.toMatchObject({ reason: 'yonbip.999' });
    const range = s.merchantByCode('C1')!.merchantApplyRanges[0]!.id;
    await expect(client.get('/yonbip/digitalModel/merchant/detail', { id, merchantApplyRangeId: range })).resolves.toMatchObject({ code: 'C1' });
    // contacts on update are matched through merchant/detail, which gets orgId
    await target.write(customer(1, { merchantContacterInfos: [{ fullName: { zh_CN: '张三' }, mobile: '139' }] }), writeCtx('k1', { knownId: id }));
    expect(s.merchantByCode('C1')?.merchantContacterInfos).toHaveLength(1);
    const detail = s.requests.filter((r) => r.path.endsWith('/merchant/detail')).at(-1);
    expect(detail?.rawQuery).toMatch(new RegExp(`(^|&)orgId=${YONBIP_SANDBOX_ORG}(&|$)`));
  });
});
