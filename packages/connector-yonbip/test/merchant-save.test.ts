import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordError } from '@qiao/core';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, YONBIP_SANDBOX_ORG, startYonbipSandbox, type YonbipSandbox } from '../src/sandbox/index.js';
import { LIST_API, SAVE_API, connect, customer, writeCtx } from './helpers.js';

let sb: YonbipSandbox;
beforeEach(async () => {
  sb = await startYonbipSandbox();
});
afterEach(() => sb.stop());

describe('merchant.save', () => {
  it('warms up: gateway and token before the first write, which then asks for neither', async () => {
    const { target } = connect(sb);
    await target.warmUp!(new AbortController().signal);
    expect(sb.counters).toMatchObject({ lookup: 1, token: 1, list: 0, save: 0 });
    await target.write(customer(1), writeCtx('k1'));
    expect(sb.counters).toMatchObject({ lookup: 1, token: 1, list: 1, save: 1, inserts: 1 });
  });

  it('a failed warm-up leaves the first write to fail with the same clear error', async () => {
    const { target } = connect(sb, { config: { appSecret: 'wrong-secret' } });
    const warm = await target.warmUp!(new AbortController().signal).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(warm?.name).toBe('ConnectorAuthError');
    await expect(target.write(customer(1), writeCtx('k1'))).rejects.toMatchObject({ name: 'ConnectorAuthError', message: warm!.message });
    expect(sb.counters.inserts).toBe(0);
  });

  it('looks up the gateway, gets a token and inserts (tenantId mode)', async () => {
    const { target } = connect(sb);
    const result = await target.write(customer(1), writeCtx('k1'));
    const saved = sb.merchantByCode('C1');
    expect(result).toEqual({ outcome: 'inserted', id: saved?.id, targetCode: 'C1' });
    expect(saved?.id).toMatch(/^\d{19}$/);
    expect(sb.counters).toMatchObject({ lookup: 1, token: 1, list: 1, save: 1, inserts: 1 });
    // the manifest's one default (配置值 merchantOptions) and the default 适用组织 row; no borrowed org or class
    expect(saved).toMatchObject({ name: { zh_CN: '客户1' }, createOrg: YONBIP_SANDBOX_ORG, merchantOptions: true });
    expect(saved?.customerClass).toBeUndefined();
    expect(saved?.merchantApplyRanges).toEqual([
      { id: expect.stringMatching(/^\d{19}$/), orgId: YONBIP_SANDBOX_ORG, rangeType: 1, isCreator: true, isApplied: true },
    ]);
    // the signature and the token were URL-encoded exactly once
    const tokenCall = sb.requests.find((r) => r.path.endsWith('/getAccessToken'));
    expect(tokenCall?.path).toBe('/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken');
    expect(tokenCall?.rawQuery).toMatch(/^appKey=qiao-demo-app&timestamp=\d{13}&signature=[A-Za-z0-9%]+$/);
    const saveCall = sb.requests.find((r) => r.path.endsWith('/merchant/save'));
    expect(saveCall?.rawQuery).toMatch(/^access_token=[A-Za-z0-9%]+$/);
    expect(saveCall?.rawQuery).toContain('%2B');
  });

  it('uses gatewayUrl + tokenUrl directly without a lookup', async () => {
    const { target, check } = connect(sb, { mode: 'direct' });
    const result = await target.write(customer(2), writeCtx('k2'));
    expect(result.outcome).toBe('inserted');
    expect(sb.counters.lookup).toBe(0);
    expect(await check.check()).toMatch(/configured gateway .*iuap-api-gateway, token ok, 1 customer records visible/);
  });

  it('updates the same code with the exact 19-digit id, which JSON.parse would have corrupted', async () => {
    const { target, client } = connect(sb);
    const first = await target.write(customer(3), writeCtx('k3'));
    expect(first.outcome).toBe('inserted');
    const id = first.id!;
    expect(id).toBe(sb.merchantByCode('C3')?.id);
    expect(BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);

    // What a JSON.parse client would have done: the answer carries the id as a bare number...
    const token = await client.token();
    const answer = await fetch(`${sb.gatewayUrl}${LIST_API}?access_token=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pageIndex: 1, pageSize: 10, code: 'C3' }),
    }).then((r) => r.text());
    expect(answer).toContain(`"id":${id},`);
    const naive = String((JSON.parse(answer) as { data: { recordList: Array<{ id: number }> } }).data.recordList[0]!.id);
    expect(naive).not.toBe(id);
    // ...and BIP refuses an Update with the rounded id.
    await expect(
      client.post(SAVE_API, { data: { id: naive, code: 'C3', name: { zh_CN: '客户3' }, _status: 'Update' } }),
    ).rejects.toMatchObject({ code: 'QIAO_RECORD', reason: 'yonbip.999' });

    // The connector: by lookup (no knownId) and by the id map (knownId), both exact.
    const second = await target.write(customer(3, { shortname: { zh_CN: '三' } }), writeCtx('k3'));
    expect(second).toEqual({ outcome: 'updated', id, targetCode: 'C3' });
    const third = await target.write(customer(3, { shortname: { zh_CN: '叁' } }), writeCtx('k3', { knownId: id }));
    expect(third).toEqual({ outcome: 'updated', id, targetCode: 'C3' });
    expect(sb.merchantByCode('C3')?.shortname).toEqual({ zh_CN: '叁' });
    expect(sb.insertsByCode().get('C3')).toBe(1);
    expect(sb.counters.updates).toBe(2);
    // the update sent no 适用组织 row (BIP would refuse the org as already applied)
    expect(sb.merchantByCode('C3')?.merchantApplyRanges).toHaveLength(1);
  });

  it('skips the lookup when the id map knows the id', async () => {
    const { target } = connect(sb);
    const { id } = await target.write(customer(4), writeCtx('k4'));
    const lists = sb.counters.list;
    await target.write(customer(4, { website: 'https://example.com' }), writeCtx('k4', { knownId: id }));
    expect(sb.counters.list).toBe(lists);
    expect(sb.merchantByCode('C4')?.website).toBe('https://example.com');
  });

  it('falls back to the code when the known id no longer exists in BIP', async () => {
    const { target } = connect(sb);
    const stale = '1799999999999999999';
    const inserted = await target.write(customer(5), writeCtx('k5', { knownId: stale }));
    expect(inserted.outcome).toBe('inserted');
    expect(inserted.id).toBe(sb.merchantByCode('C5')?.id);
    const seeded = sb.seedMerchant({ code: 'C6', name: '客户6' });
    const updated = await target.write(customer(6, { email: 'a@b.cn' }), writeCtx('k6', { knownId: stale }));
    expect(updated).toEqual({ outcome: 'updated', id: seeded.id, targetCode: 'C6' });
  });

  it('looks up first when an earlier attempt may have been written (maybeWritten, no knownId)', async () => {
    const { target } = connect(sb);
    // an earlier process inserted C7, then died before it stored the id
    await target.write(customer(7), writeCtx('k7'));
    const lists = sb.counters.list;
    const result = await target.write(customer(7), writeCtx('k7', { maybeWritten: true }));
    expect(result).toEqual({ outcome: 'updated', id: sb.merchantByCode('C7')?.id, targetCode: 'C7' });
    expect(sb.counters.list).toBe(lists + 1);
    expect(sb.insertsByCode().get('C7')).toBe(1);
  });

  it('turns an Insert into an Update when another writer created the code after the lookup', async () => {
    const { target } = connect(sb);
    await target.write(customer(20), writeCtx('k20')); // token and gateway in place
    sb.setLatency(200);
    const write = target.write(customer(21, { email: 'mine@x.cn' }), writeCtx('k21'));
    // the second save has reached the sandbox (after its lookup found nothing) but is not handled yet
    while (sb.requests.filter((r) => r.path.endsWith('/merchant/save')).length < 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const other = sb.seedMerchant({ code: 'C21', name: '客户21' });
    sb.setLatency(0);
    expect(await write).toEqual({ outcome: 'updated', id: other.id, targetCode: 'C21' });
    expect(sb.requests.filter((r) => r.path.endsWith('/merchant/list'))).toHaveLength(3);
    expect(sb.merchantByCode('C21')?.email).toBe('mine@x.cn');
    expect(sb.insertsByCode().get('C21')).toBeUndefined();
  });

  it('rejects a duplicate name (999 客户名称重复) as a record error while the others save', async () => {
    sb.seedMerchant({ code: 'EXIST', name: '上海桥联科技有限公司' });
    const { target } = connect(sb);
    const results = await Promise.allSettled([
      target.write(customer(8), writeCtx('k8')),
      target.write({ code: 'C9', name: { zh_CN: '上海桥联科技有限公司' }, createOrg: YONBIP_SANDBOX_ORG }, writeCtx('k9')),
      target.write(customer(10), writeCtx('k10')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (results[1] as PromiseRejectedResult).reason as RecordError;
    expect(error).toBeInstanceOf(RecordError);
    expect(error.message).toContain('客户名称重复');
    expect(error.reason).toBe('yonbip.999');
    expect(error.system).toBe('yonbip');
    expect(sb.merchantByCode('C9')).toBeUndefined();
    expect(sb.merchants().map((m) => m.code).sort()).toEqual(['C10', 'C8', 'EXIST']);
  });

  it('keeps ids as strings, accepts "true"/"false" and refuses a corrupted numeric id', async () => {
    const { target } = connect(sb);
    await target.write(customer(11, { merchantOptions: 'false', customerClass: YONBIP_SANDBOX_CUSTOMER_CLASS }), writeCtx('k11'));
    expect(sb.merchantByCode('C11')).toMatchObject({ merchantOptions: false, createOrg: YONBIP_SANDBOX_ORG, customerClass: YONBIP_SANDBOX_CUSTOMER_CLASS });
    const small = await startYonbipSandbox({ orgs: [{ id: '1234', code: 'small', name: '小组织' }] });
    try {
      await connect(small).target.write(customer(11, { createOrg: 1234 }), writeCtx('k11'));
      expect(small.merchantByCode('C11')?.createOrg).toBe('1234');
    } finally {
      await small.stop();
    }
    const save = sb.requests.filter((r) => r.path.endsWith('/save')).length;
    await expect(target.write(customer(12, { createOrg: 1481709712348020742 }), writeCtx('k12'))).rejects.toMatchObject({
      code: 'QIAO_RECORD',
      reason: 'yonbip.input',
    });
    await expect(target.write({ code: 'C13', createOrg: YONBIP_SANDBOX_ORG }, writeCtx('k13'))).rejects.toBeInstanceOf(RecordError);
    // no default org: a payload without one is refused before any request (a borrowed id would fail every insert)
    await expect(target.write({ code: 'C14', name: { zh_CN: '客户14' } }, writeCtx('k14'))).rejects.toMatchObject({
      reason: 'yonbip.input',
      message: expect.stringContaining('createOrg'),
    });
    expect(sb.requests.filter((r) => r.path.endsWith('/save')).length).toBe(save);
  });

  it('sends contacts on insert and matches them by name on update instead of duplicating them', async () => {
    const { target } = connect(sb);
    const contacts = [
      { fullName: { zh_CN: '张三' }, mobile: '13800000001', isDefault: true },
      { fullName: { zh_CN: '李四' }, mobile: '13800000002' },
    ];
    const { id } = await target.write(customer(14, { merchantContacterInfos: contacts }), writeCtx('k14'));
    expect(sb.merchantByCode('C14')?.merchantContacterInfos).toHaveLength(2);
    const changed = [{ fullName: { zh_CN: '张三' }, mobile: '13900000001' }, { fullName: { zh_CN: '王五' } }];
    await target.write(customer(14, { merchantContacterInfos: changed }), writeCtx('k14', { knownId: id }));
    const saved = sb.merchantByCode('C14')!.merchantContacterInfos;
    expect(saved.map((c) => [c.fullName.zh_CN, c.mobile])).toEqual([
      ['张三', '13900000001'],
      ['李四', '13800000002'],
      ['王五', undefined],
    ]);
  });

  it('sends the mapping’s own 适用组织 rows on insert', async () => {
    const org2 = '1481709712348020999';
    await sb.stop();
    sb = await startYonbipSandbox({
      orgs: [
        { id: YONBIP_SANDBOX_ORG, code: 'qiao-sim', name: '桥模拟组织' },
        { id: org2, code: 'second', name: '第二组织' },
      ],
    });
    const { target: t2 } = connect(sb);
    await t2.write(
      customer(15, {
        merchantApplyRanges: [
          { orgId: YONBIP_SANDBOX_ORG, rangeType: 1, isCreator: true, isApplied: true },
          { orgId: org2, rangeType: 1, isCreator: false, isApplied: true },
        ],
      }),
      writeCtx('k15'),
    );
    expect(sb.merchantByCode('C15')?.merchantApplyRanges.map((r) => r.orgId)).toEqual([YONBIP_SANDBOX_ORG, org2]);
  });
});
