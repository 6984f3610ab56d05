import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, tempDir } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;

describe.each(['v2', 'classic'] as const)('okki-to-yonbip template end to end on the simulators (YONBIP_API=%s)', (api) => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;
  let env: Record<string, string>;
  const state = join(tempDir('qiao-e2e-'), 'state');

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 250, seed: 7 });
    bip = await startYonbipSandbox({});
    env = {
      ...simulatorEnv(okki, bip),
      OKKI_REQUESTS_PER_SECOND: '200',
      YONBIP_REQUESTS_PER_SECOND: '200',
      OKKI_CONCURRENCY: '8',
      YONBIP_CONCURRENCY: '8',
      YONBIP_API: api,
    };
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
  });

  it('writes 250 customers with the mapping, then nothing, then 5 updates with exact ids and 3 inserts', async () => {
    const first = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'succeeded', counts: { read: 250, inserted: 250, updated: 0, failed: 0 } });

    const merchants = bip.merchants();
    expect(merchants).toHaveLength(250);
    expect([...bip.insertsByCode().values()].every((n) => n === 1)).toBe(true);

    // the mapping, checked against the OKKI simulator's own records
    const companies = okki.companies();
    let withShort = 0;
    let withoutSerial = 0;
    for (const c of companies) {
      const serial = String(c.serial_id ?? '');
      const code = serial !== '' ? serial : `OKKI-${String(c.company_id)}`;
      if (serial === '') withoutSerial++;
      const m = bip.merchantByCode(code) as Record<string, any> | undefined;
      expect(m, `customer ${code} in BIP`).toBeDefined();
      expect(m!.name.zh_CN).toBe(c.name);
      if (c.short_name) {
        withShort++;
        expect(m!.shortname?.zh_CN).toBe(c.short_name);
      } else expect(m!.shortname?.zh_CN).toBeUndefined();
      // the tenant's own org and class, from YONBIP_CREATE_ORG / YONBIP_CUSTOMER_CLASS (no borrowed defaults)
      expect(m!.createOrg).toBe(bip.orgId);
      expect(m!.customerClass).toBe(bip.customerClassId);
      expect(m!.merchantOptions).toBe(true);
      if (c.homepage) expect(m!.website).toBe(c.homepage);
      if (c.address) expect(m!.address?.zh_CN).toBe(c.address);
      const contacts = (c.customers ?? []) as { name: string; email: string; main_customer_flag: number | string }[];
      const main = contacts.find((x) => Number(x.main_customer_flag) === 1) ?? contacts[0];
      if (main?.name) expect(m!.contactName).toBe(main.name);
      if (main?.email) expect(m!.email).toBe(main.email);
      const tel = c.tel as string[] | undefined;
      if (tel?.[1]) expect(m!.contactTel).toBe(tel[0] ? `${tel[0]}-${tel[1]}` : tel[1]);
      expect(m!.id).toMatch(/^\d{19}$/);
    }
    // the data set exercises both branches of the optional fields
    expect(withShort).toBeGreaterThan(0);
    expect(withShort).toBeLessThan(250);
    expect(withoutSerial).toBeGreaterThan(0);

    const second = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ counts: { inserted: 0, updated: 0, failed: 0 } });
    const savesBefore = bip.counters.save;
    const counted = { inserts: bip.counters.inserts, updates: bip.counters.updates, batchSave: bip.counters.batchSave };

    const changed = companies.slice(10, 15);
    const idsBefore = new Map(changed.map((c) => [String(c.serial_id || `OKKI-${String(c.company_id)}`), (bip.merchantByCode(String(c.serial_id || `OKKI-${String(c.company_id)}`)) as { id: string }).id]));
    for (const c of changed) okki.updateCompany(String(c.company_id), { address: `${String(c.address)}（新址）` });
    for (let i = 0; i < 3; i++) okki.addCompany();

    const third = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ counts: { inserted: 3, updated: 5, failed: 0 } });
    if (api === 'classic') expect(bip.counters.save - savesBefore).toBe(8);
    else {
      // batches: at most one call per write, and none of the classic API
      expect(bip.counters.save - savesBefore).toBe(0);
      expect(bip.counters.batchSave - counted.batchSave).toBeGreaterThanOrEqual(1);
      expect(bip.counters.batchSave - counted.batchSave).toBeLessThanOrEqual(8);
    }
    expect({ inserts: bip.counters.inserts - counted.inserts, updates: bip.counters.updates - counted.updates }).toEqual({ inserts: 3, updates: 5 });
    expect(bip.merchants()).toHaveLength(253);
    expect(bip.counters.updates).toBeGreaterThanOrEqual(5);
    for (const [code, id] of idsBefore) {
      const m = bip.merchantByCode(code) as unknown as { id: string; address: { zh_CN: string } };
      expect(m.id).toBe(id); // the update carried the exact 19-digit id
      expect(m.address.zh_CN).toMatch(/（新址）$/);
    }
    expect([...bip.insertsByCode().values()].every((n) => n === 1)).toBe(true);
  });

  it('shows the run overview with its runs, queue and cursor', async () => {
    const r = await qiao(['overview', TEMPLATE, '--json', '--state', state], { env });
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout) as { runs: unknown[]; successRate: number; queue: { dead: number; done: number }; cursor: string };
    expect(o.runs.length).toBe(3);
    expect(o.successRate).toBe(1);
    expect(o.queue).toMatchObject({ dead: 0, done: 253 });
    expect(o.cursor).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('check says which system refused which credential, without the secret', async () => {
    const ok = await qiao(['check', TEMPLATE, '--json'], { env });
    expect(ok.code).toBe(0);
    const bad = await qiao(['check', TEMPLATE], { env: { ...env, YONBIP_APP_SECRET: 'not-the-secret-9876' } });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/✓ source/);
    expect(bad.stderr).toMatch(/✗ target 用友 YonBIP/);
    expect(bad.stderr).toMatch(/YONBIP_APP_SECRET|appSecret/);
    expect(bad.stderr + bad.stdout).not.toContain('not-the-secret-9876');
  });

  it('a run stopped by a refused credential: with --json the report on stdout, the reason on stderr too', async () => {
    const r = await qiao(['run', TEMPLATE, '--json', '--state', join(tempDir('qiao-e2e-fatal-'), 'state')], {
      env: { ...env, YONBIP_APP_SECRET: 'not-the-secret-9876' },
    });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { status: string; fatal: { code: string; message: string; hint: string } };
    expect(report).toMatchObject({ status: 'failed', fatal: { code: expect.stringMatching(/^yonbip\./) } });
    expect(r.stderr).toContain(`stopped: ${report.fatal.message}`);
    expect(r.stderr).toMatch(/YONBIP_APP_SECRET|appSecret/);
    expect(r.stderr + r.stdout).not.toContain('not-the-secret-9876');
  });

  it('preview maps without writing and flags what fails the schema', async () => {
    const before = bip.counters.save + bip.counters.batchSave;
    const r = await qiao(['preview', TEMPLATE, '--limit', '3', '--json', '--state', state], { env });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { key: string; action: string; payload: { code: string } }[];
    expect(rows).toHaveLength(3);
    expect(rows.every((x) => x.action === 'unchanged')).toBe(true);
    expect(bip.counters.save + bip.counters.batchSave).toBe(before);
  });
});
