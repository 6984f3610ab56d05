import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/index.js';
import { YONBIP_SANDBOX_ORG, startYonbipSandbox, type YonbipSandbox } from '../src/sandbox/index.js';
import { LIST_API, SAVE_API, raw } from './helpers.js';

let sb: YonbipSandbox;
beforeAll(async () => {
  sb = await startYonbipSandbox();
});
afterAll(() => sb.stop());

async function getJson(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { code: string | number; message: string; data?: Record<string, unknown> } };
}

function tokenUrl(path: string, appKey: string, timestamp: string, signature: string) {
  return `${sb.tokenUrl}${path}?appKey=${appKey}&timestamp=${timestamp}&signature=${signature}`;
}

describe('yonbip sandbox: data center and token service', () => {
  it('looks up the gateway by tenant, with path prefixes; an unknown tenant gets code 500', async () => {
    const ok = await getJson(`${sb.dataCenterUrl}/open-auth/dataCenter/getGatewayAddress?tenantId=qiao-demo-tenant`);
    expect(ok.body).toEqual({
      code: '00000',
      message: '成功！',
      data: { gatewayUrl: `${sb.url}/iuap-api-gateway`, tokenUrl: `${sb.url}/iuap-api-auth` },
    });
    const bad = await getJson(`${sb.dataCenterUrl}/open-auth/dataCenter/getGatewayAddress?tenantId=nobody`);
    expect(bad.body).toEqual({ code: '500', message: '根据租户id获取网关地址出现异常' });
  });

  it('issues tokens with + / = on both token paths, after checking the signature', async () => {
    const { appKey, appSecret } = sb.credentials;
    for (const path of ['/open-auth/selfAppAuth/base/v1/getAccessToken', '/open-auth/selfAppAuth/getAccessToken']) {
      const timestamp = String(Date.now());
      const signature = encodeURIComponent(sign({ appKey, timestamp }, appSecret));
      const { body } = await getJson(tokenUrl(path, appKey, timestamp, signature));
      expect(body.code).toBe('00000');
      expect(body.data?.expire).toBe(7200);
      expect(String(body.data?.access_token)).toMatch(/\+.*\/.*=/);
    }
  });

  it('refuses unknown appKeys, bad, unencoded or double-encoded signatures, and stale timestamps', async () => {
    const { appKey, appSecret } = sb.credentials;
    const path = '/open-auth/selfAppAuth/base/v1/getAccessToken';
    const now = String(Date.now());
    const good = sign({ appKey, timestamp: now }, appSecret);
    expect((await getJson(tokenUrl(path, 'nope', now, encodeURIComponent(good)))).body).toEqual({
      code: '10018',
      message: '应用不存在或appKey已停用',
    });
    // Find a timestamp whose signature has a `+`, so sending it raw really changes it.
    let ts = Number(now);
    while (!sign({ appKey, timestamp: String(ts) }, appSecret).includes('+')) ts++;
    const plus = sign({ appKey, timestamp: String(ts) }, appSecret);
    expect((await getJson(tokenUrl(path, appKey, String(ts), plus))).body.code).toBe('10019');
    expect((await getJson(tokenUrl(path, appKey, String(ts), encodeURIComponent(encodeURIComponent(plus))))).body.code).toBe('10019');
    expect((await getJson(tokenUrl(path, appKey, String(ts), encodeURIComponent(plus)))).body.code).toBe('00000');
    const stale = String(Date.now() - 10 * 60_000);
    const staleSig = encodeURIComponent(sign({ appKey, timestamp: stale }, appSecret));
    expect((await getJson(tokenUrl(path, appKey, stale, staleSig))).body.code).toBe('10020');
  });
});

describe('yonbip sandbox: gateway', () => {
  it('wants access_token as a URL-encoded query parameter, not a Bearer header', async () => {
    const token = await raw.token(sb);
    const body = JSON.stringify({ pageIndex: 1, pageSize: 1 });
    expect(JSON.parse((await raw.post(sb, LIST_API, undefined, body)).text).code).toBe('310001');
    const bearer = await raw.post(sb, LIST_API, undefined, body, { authorization: `Bearer ${token}` });
    expect(JSON.parse(bearer.text).code).toBe('310001');
    const res = await fetch(`${sb.gatewayUrl}${LIST_API}?access_token=${token}`, { method: 'POST', body });
    expect(await res.json()).toEqual({ code: '310036', message: '非法token' });
    expect(JSON.parse((await raw.post(sb, LIST_API, token, body)).text).code).toBe('200');
  });

  it('adds latency to every answer', async () => {
    sb.setLatency(80);
    const started = Date.now();
    await fetch(`${sb.dataCenterUrl}/open-auth/dataCenter/getGatewayAddress?tenantId=qiao-demo-tenant`);
    sb.setLatency(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('answers 404 310404 for an unknown API', async () => {
    const token = await raw.token(sb);
    const res = await raw.post(sb, '/yonbip/digitalModel/merchant/nothing', token, '{}');
    expect(res.status).toBe(404);
    // the wording the real gateway answers (skillify errors-and-limits §2, observed)
    expect(JSON.parse(res.text)).toEqual({ code: '310404', message: '网关上没有注册此API[/yonbip/digitalModel/merchant/nothing]，请确认后重新调用' });
    expect((await fetch(`${sb.url}/yonbip/digitalModel/merchant/list`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('writes 19-digit ids as bare JSON numbers and refuses an Update with a rounded id', async () => {
    const token = await raw.token(sb);
    const insert = await raw.post(
      sb,
      SAVE_API,
      token,
      JSON.stringify({ data: { code: 'S1', name: { zh_CN: '沙箱一' }, createOrg: YONBIP_SANDBOX_ORG, _status: 'Insert' } }),
    );
    const saved = sb.merchantByCode('S1');
    expect(saved?.id).toMatch(/^1[78]\d{17}$/);
    expect(BigInt(saved!.id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(insert.text).toContain(`"id":${saved!.id},`);
    expect(insert.text).toContain(`"createOrg":${YONBIP_SANDBOX_ORG}`);
    expect(insert.text).toContain('"code":"200","message":"操作成功"');
    const rounded = String((JSON.parse(insert.text) as { data: { id: number } }).data.id);
    expect(rounded).not.toBe(saved!.id);
    const refused = await raw.post(sb, SAVE_API, token, JSON.stringify({ data: { id: rounded, name: { zh_CN: '沙箱一改' }, _status: 'Update' } }));
    expect(JSON.parse(refused.text)).toMatchObject({ code: '999' });
    const exact = await raw.post(sb, SAVE_API, token, JSON.stringify({ data: { id: saved!.id, name: { zh_CN: '沙箱一改' }, _status: 'Update' } }));
    expect(exact.text).toContain('"code":"200"');
    expect(sb.merchantByCode('S1')?.name).toEqual({ zh_CN: '沙箱一改' });
    expect(sb.counters.updates).toBe(1);
  });

  it('validates Inserts: code, multilingual name, duplicate code and name, _status', async () => {
    const token = await raw.token(sb);
    const save = async (data: Record<string, unknown>) => JSON.parse((await raw.post(sb, SAVE_API, token, JSON.stringify({ data }))).text);
    const org = YONBIP_SANDBOX_ORG;
    expect(await save({ name: { zh_CN: 'x' }, createOrg: org, _status: 'Insert' })).toEqual({ code: '999', message: '客户编码不能为空' });
    expect((await save({ code: 'V1', name: '字符串名称', createOrg: org, _status: 'Insert' })).code).toBe('999');
    expect((await save({ code: 'V1', name: { en_US: 'x' }, createOrg: org, _status: 'Insert' })).code).toBe('999');
    expect((await save({ code: 'V1', name: { zh_CN: '验证一' }, createOrg: org })).code).toBe('999');
    expect((await save({ code: 'V1', name: { zh_CN: '验证一' }, createOrg: org, _status: 'Insert' })).code).toBe('200');
    expect((await save({ code: 'V1', name: { zh_CN: '验证二' }, createOrg: org, _status: 'Insert' })).code).toBe('999');
    expect(await save({ code: 'V2', name: { zh_CN: '验证一' }, createOrg: org, _status: 'Insert' })).toEqual({ code: '999', message: '客户名称重复' });
    const withRange = await save({
      code: 'V3',
      name: { zh_CN: '验证三' },
      createOrg: org,
      _status: 'Insert',
      merchantApplyRanges: [{ orgId: org, rangeType: 1, isCreator: true, isApplied: true, _status: 'Insert' }],
    });
    expect(withRange.code).toBe('200');
    const v3 = sb.merchantByCode('V3')!;
    const again = await save({ id: v3.id, _status: 'Update', merchantApplyRanges: [{ orgId: org, _status: 'Insert' }] });
    expect(again.code).toBe('999');
    expect(sb.insertsByCode().get('V1')).toBe(1);
  });

  it('lists by exact code and pages without one; detail answers a numeric code', async () => {
    const token = await raw.token(sb);
    for (const c of ['L1', 'L10', 'L11']) sb.seedMerchant({ code: c, name: `列表${c}` });
    const byCode = JSON.parse((await raw.post(sb, LIST_API, token, JSON.stringify({ pageIndex: 1, pageSize: 10, code: 'L1' }))).text);
    expect(byCode.data.recordCount).toBe(1);
    expect(byCode.data.recordList[0].code).toBe('L1');
    const page = await raw.post(sb, LIST_API, token, JSON.stringify({ pageIndex: 2, pageSize: 2 }));
    const parsed = JSON.parse(page.text);
    expect(parsed.data.pageIndex).toBe(2);
    expect(parsed.data.recordCount).toBe(sb.merchants().length);
    expect(parsed.data.pageCount).toBe(Math.ceil(sb.merchants().length / 2));
    expect(parsed.data.recordList).toHaveLength(2);
    const id = sb.merchantByCode('L10')!.id;
    const detail = await fetch(`${sb.gatewayUrl}/yonbip/digitalModel/merchant/detail?id=${id}&orgId=${YONBIP_SANDBOX_ORG}&access_token=${encodeURIComponent(token)}`);
    const text = await detail.text();
    expect(text).toContain('"code":200,');
    expect(text).toContain(`"id":${id},`);
  });
});
