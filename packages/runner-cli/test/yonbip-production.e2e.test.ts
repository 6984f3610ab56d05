import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox, type YonbipSandboxOptions } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, tempDir } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const SAVE = '/yonbip/digitalModel/merchant/save';
const BATCH_SAVE = '/yonbip/digitalModel/batch/merchant/save';
const SEED_ORG = '1481709712348020742';

let okki: OkkiSandbox | undefined;
let bip: YonbipSandbox | undefined;
afterEach(async () => {
  await okki?.stop();
  await bip?.stop();
  okki = bip = undefined;
});

async function sims(options: YonbipSandboxOptions = {}, customers = 20) {
  okki = await startOkkiSandbox({ customers, seed: 3 });
  bip = await startYonbipSandbox(options);
  const env = { ...simulatorEnv(okki, bip), OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '200', OKKI_CONCURRENCY: '8', YONBIP_CONCURRENCY: '8' };
  return { okki, bip, env };
}

describe('YonBIP as it behaves in production, through the qiao binary', { timeout: 120_000 }, () => {
  it('the template has no borrowed ids: without YONBIP_CREATE_ORG and YONBIP_CUSTOMER_CLASS it is refused before any request', async () => {
    const { bip, env } = await sims();
    const r = await qiao(['validate', TEMPLATE], { env: { ...env, YONBIP_CREATE_ORG: undefined, YONBIP_CUSTOMER_CLASS: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/YONBIP_CREATE_ORG/);
    expect(r.stderr).toMatch(/YONBIP_CUSTOMER_CLASS/);
    expect(bip.counters.total).toBe(0);
  });

  it('check passes on a good tenant and lists what it verified', async () => {
    const { bip, env } = await sims();
    const r = await qiao(['check', TEMPLATE], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`✓ API ${SAVE}: registered on the gateway`);
    expect(r.stderr).toContain(`✓ createOrg ${bip.orgId}: organisation 桥模拟组织 (qiao-sim) exists`);
    expect(r.stderr).toContain(`✓ customerClass ${bip.customerClassId}: customer class`);
  });

  it('check against a tenant missing an API names the API and the endpoint-version problem (exit 3)', async () => {
    const { env } = await sims({ missingApis: [SAVE] });
    const r = await qiao(['check', TEMPLATE], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`✗ API ${SAVE}: not registered on this tenant's gateway`));
    expect(r.stderr).toMatch(/hint: .*V2/);
    const json = await qiao(['check', TEMPLATE, '--json'], { env });
    const target = (JSON.parse(json.stdout) as Array<{ side: string; findings?: Array<{ subject: string; ok: boolean; reason?: string }> }>).find((x) => x.side === 'target');
    expect(target?.findings?.filter((f) => !f.ok)).toEqual([expect.objectContaining({ subject: `API ${SAVE}`, reason: 'yonbip.310404' })]);
  });

  it('check with the template’s default (v2) against a tenant without the V2 batch save names it and says YONBIP_API=classic is the way out (exit 3)', async () => {
    const { env } = await sims({ missingApis: [BATCH_SAVE] });
    const r = await qiao(['check', TEMPLATE], { env: { ...env, YONBIP_API: undefined } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`✗ API ${BATCH_SAVE}: not registered on this tenant's gateway`));
    expect(r.stderr).toMatch(/hint: .*YONBIP_API/);
    expect(r.stderr).toContain('✓ API /yonbip/digitalModel/merchant/newlist: registered on the gateway');
  });

  it('check against a missing org (the seed’s, from another tenant) names it and says where to find the right one (exit 3)', async () => {
    const { env } = await sims();
    const r = await qiao(['check', TEMPLATE], { env: { ...env, YONBIP_CREATE_ORG: SEED_ORG } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`✗ createOrg ${SEED_ORG}: no organisation with this id in the tenant`);
    expect(r.stderr).toMatch(/hint: .*YONBIP_CREATE_ORG/);
  });

  it('310037 on every call: exit 3 with one error naming the API and the app, not N dead letters', async () => {
    const { bip, env } = await sims();
    bip.answerCode('310037');
    const state = join(tempDir('qiao-310037-'), 'state');
    const r = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { status: string; counts: { failed: number; inserted: number }; errors: unknown[]; fatal: { code: string; message: string; hint: string } };
    expect(report.status).toBe('failed');
    expect(report.counts).toMatchObject({ failed: 0, inserted: 0 });
    expect(report.errors).toEqual([]);
    expect(report.fatal.code).toBe('yonbip.310037');
    expect(report.fatal.message).toContain('/yonbip/digitalModel/merchant/list');
    expect(report.fatal.message).toContain(`app ${bip.credentials.appKey}`);
    expect(report.fatal.hint).toContain('开放平台');
    // the records wait in the queue for the next run, none became a dead letter
    const queue = await qiao(['queue', TEMPLATE, '--json', '--state', state], { env });
    const counts = (JSON.parse(queue.stdout) as { counts: { dead: number; pending: number } }).counts;
    expect(counts.dead).toBe(0);
    expect(counts.pending).toBeGreaterThan(0);
    expect(bip.merchants()).toHaveLength(0);
  });

  it.each(['classic', 'v2'] as const)('310504 after committed saves: every customer exactly once (YONBIP_API=%s)', async (api) => {
    const { bip, env } = await sims();
    bip.answerCode('310504', { on: api === 'v2' ? 'batchSave' : 'save', times: api === 'v2' ? 1 : 3 });
    const r = await qiao(['run', TEMPLATE, '--json', '--state', join(tempDir('qiao-310504-'), 'state')], { env: { ...env, YONBIP_API: api } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded', counts: { inserted: 20, failed: 0 } });
    expect(bip.counters.codes['310504']).toBe(api === 'v2' ? 1 : 3);
    expect(bip.merchants()).toHaveLength(20);
    expect([...bip.insertsByCode().values()].every((n) => n === 1)).toBe(true);
  });

  it.each(['classic', 'v2'] as const)('a coding rule replaced every code: an OKKI edit and a rerun update the one record each (YONBIP_API=%s)', async (api) => {
    const s = await sims({ codingRule: { prefix: 'KH' } });
    const { okki, bip } = s;
    const env = { ...s.env, YONBIP_API: api };
    const state = join(tempDir('qiao-coding-rule-'), 'state');
    const first = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(bip.merchants().every((m) => m.code.startsWith('KH'))).toBe(true);
    const company = okki.companies()[4]!;
    const before = bip.merchants().find((m) => m.name.zh_CN === company.name)!;
    okki.updateCompany(String(company.company_id), { homepage: 'https://moved.example' });
    const second = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ counts: { inserted: 0, updated: 1, failed: 0 } });
    expect(bip.merchants()).toHaveLength(20);
    expect(bip.merchantByCode(before.code)).toMatchObject({ id: before.id, website: 'https://moved.example' });
  });

  it.each(['classic', 'v2'] as const)('a tenant that requires business details: the mapping fills merchantAppliedDetail, every insert accepted (YONBIP_API=%s)', async (api) => {
    const s = await sims({ requiredAppliedDetail: ['professSalesman'] });
    const { bip } = s;
    const env = { ...s.env, YONBIP_API: api };
    const { readFileSync, writeFileSync } = await import('node:fs');
    const dir = tempDir('qiao-applied-');
    const file = join(dir, 'scheme.yaml');
    writeFileSync(
      file,
      readFileSync(TEMPLATE, 'utf8').replace(
        '  # 是否商家。Merchant option.',
        "  merchantAppliedDetail.professSalesman:\n    value: '1870412293664490001'\n  # 是否商家。Merchant option.",
      ),
    );
    const r = await qiao(['run', file, '--json', '--state', join(dir, 'state')], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ counts: { inserted: 20, failed: 0 } });
    expect(bip.merchants().every((m) => (m.merchantAppliedDetail as { professSalesman?: string }).professSalesman === '1870412293664490001')).toBe(true);
  });
});

interface ThrottleReport {
  status: string;
  counts: { read: number; inserted: number; failed: number };
  durationMs: number;
  throttling: Array<{ side: string; connector: string; throttledMs: number; share: number; rateLimitedAnswers: number; ratePerSecond?: number; limitPerSecond?: number; throttled: boolean }>;
}

describe('a quota of 60 calls a minute, scaled down to 20 per 5 s, with the template’s defaults', () => {
  /** The template's YonBIP limits as shipped (10 a second, 4 in flight); OKKI, the source, unlimited here. */
  async function quotaSims(customers: number) {
    okki = await startOkkiSandbox({ customers, seed: 7 });
    bip = await startYonbipSandbox({ quota: { calls: 20, windowMs: 5000 } });
    const env: Record<string, string | undefined> = { ...simulatorEnv(okki, bip), OKKI_REQUESTS_PER_SECOND: '500', OKKI_CONCURRENCY: '8' };
    return { okki, bip, env, state: join(tempDir('qiao-quota-'), 'state') };
  }

  it('classic (2 calls per customer): run succeeded, 0 dead letters, the limit answers fall as the limiter learns, and the report says how long YonBIP was throttled', async () => {
    const { bip, env, state } = await quotaSims(60);
    const r = await qiao(['run', TEMPLATE, '--json', '--state', state], { env: { ...env, YONBIP_API: 'classic' } });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ThrottleReport;
    expect(report).toMatchObject({ status: 'succeeded', counts: { read: 60, inserted: 60, failed: 0 } });
    expect(bip.merchants()).toHaveLength(60);
    expect([...bip.insertsByCode().values()].every((n) => n === 1)).toBe(true);
    // the quota was met and refused calls: fewer of them as the run went on
    const { admitted, refused } = bip.quotaLog;
    expect(admitted.length).toBeGreaterThanOrEqual(120);
    expect(refused.length).toBeGreaterThan(0);
    const start = admitted[0]!;
    const span = admitted[admitted.length - 1]! - start;
    const third = (k: number) => refused.filter((t) => t - start >= (k * span) / 3 && t - start < ((k + 1) * span) / 3).length;
    expect(third(2)).toBeLessThan(Math.max(1, third(0)));
    expect(refused.length).toBeLessThan(admitted.length / 3);
    // the report: YonBIP (the target) throttled for most of the run, every refusal heard; OKKI not at all
    const target = report.throttling.find((t) => t.side === 'target')!;
    const source = report.throttling.find((t) => t.side === 'source')!;
    expect(target).toMatchObject({ connector: 'yonbip', rateLimitedAnswers: refused.length, limitPerSecond: 10, throttled: false });
    expect(target.throttledMs).toBeGreaterThan(report.durationMs / 3);
    expect(target.throttledMs).toBeLessThanOrEqual(report.durationMs);
    expect(target.share).toBeCloseTo(target.throttledMs / report.durationMs, 2);
    expect(target.ratePerSecond).toBeLessThan(10);
    expect(source).toMatchObject({ connector: 'okki', throttledMs: 0, share: 0, rateLimitedAnswers: 0 });
  }, 180_000);

  it('v2, the template as shipped: run succeeded, 0 dead letters, a handful of calls', async () => {
    const { bip, env, state } = await quotaSims(300);
    const r = await qiao(['run', TEMPLATE, '--json', '--state', state], { env: { ...env, YONBIP_API: undefined } });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ThrottleReport;
    expect(report).toMatchObject({ status: 'succeeded', counts: { read: 300, inserted: 300, failed: 0 } });
    expect(bip.counters.batchSave).toBeGreaterThan(0);
    expect(bip.quotaLog.admitted.length).toBeLessThan(40);
    expect(report.throttling.find((t) => t.side === 'target')?.rateLimitedAnswers).toBe(bip.quotaLog.refused.length);
  }, 180_000);
});
