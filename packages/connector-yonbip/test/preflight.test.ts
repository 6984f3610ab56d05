import { afterEach, describe, expect, it } from 'vitest';
import type { PreflightFinding } from '@qiao/core';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, YONBIP_SANDBOX_ORG, startYonbipSandbox, type YonbipSandbox, type YonbipSandboxOptions } from '../src/sandbox/index.js';
import { LIST_API, SAVE_API, connect } from './helpers.js';

let sb: YonbipSandbox | undefined;
async function start(options: YonbipSandboxOptions = {}): Promise<YonbipSandbox> {
  sb = await startYonbipSandbox(options);
  return sb;
}
afterEach(async () => {
  await sb?.stop();
  sb = undefined;
});

async function preflight(s: YonbipSandbox, constants: Record<string, unknown>): Promise<PreflightFinding[]> {
  const { target } = connect(s);
  return target.preflight!({ constants });
}

const SEED_ORG = '1481709712348020742';

describe('merchant.save preflight (qiao check)', () => {
  it('passes for the tenant’s own org and class, with every API registered', async () => {
    const s = await start();
    const findings = await preflight(s, { createOrg: YONBIP_SANDBOX_ORG, customerClass: YONBIP_SANDBOX_CUSTOMER_CLASS });
    expect(findings.map((f) => [f.subject, f.ok])).toEqual([
      [`API ${SAVE_API}`, true],
      [`API ${LIST_API}`, true],
      ['API /yonbip/digitalModel/merchant/detail', true],
      [`createOrg ${YONBIP_SANDBOX_ORG}`, true],
      [`customerClass ${YONBIP_SANDBOX_CUSTOMER_CLASS}`, true],
    ]);
    expect(findings[3]!.message).toContain('桥模拟组织');
    // the probes used a fake token: the gateway answered 310036, nothing ran
    expect(s.counters.tokenExpired).toBe(3);
    expect(s.counters.save).toBe(3 - 2);
    expect(s.merchants()).toHaveLength(0);
  });

  it('names an API this tenant does not have (310404 to a fake token)', async () => {
    const s = await start({ missingApis: [LIST_API] });
    const findings = await preflight(s, {});
    const list = findings.find((f) => f.subject === `API ${LIST_API}`)!;
    expect(list).toMatchObject({ ok: false, reason: 'yonbip.310404' });
    expect(list.message).toContain('not registered');
    expect(list.hint).toMatch(/V2/);
    expect(findings.filter((f) => !f.ok)).toHaveLength(1);
  });

  it('names a missing org (the seed’s, borrowed from another tenant) and a missing customer class', async () => {
    const s = await start();
    const findings = await preflight(s, { createOrg: SEED_ORG, customerClass: '1481712151907270669' });
    expect(findings.find((f) => f.subject === `createOrg ${SEED_ORG}`)).toMatchObject({
      ok: false,
      reason: 'yonbip.org_missing',
      hint: expect.stringContaining('YONBIP_CREATE_ORG'),
    });
    expect(findings.find((f) => f.subject === 'customerClass 1481712151907270669')).toMatchObject({
      ok: false,
      reason: 'yonbip.class_missing',
      hint: expect.stringContaining('YONBIP_CUSTOMER_CLASS'),
    });
  });

  it('names a disabled org', async () => {
    const s = await start({ orgs: [{ id: YONBIP_SANDBOX_ORG, code: 'old', name: '旧组织', enable: 2 }] });
    const [org] = (await preflight(s, { createOrg: YONBIP_SANDBOX_ORG })).filter((f) => f.subject.startsWith('createOrg'));
    expect(org).toMatchObject({ ok: false, reason: 'yonbip.org_disabled' });
  });

  it('says "not checked" when the app may not call the org tree, instead of failing the org', async () => {
    const s = await start({ unauthorisedApis: ['/yonbip/digitalModel/orgunit/querytree'] });
    const [org] = (await preflight(s, { createOrg: YONBIP_SANDBOX_ORG })).filter((f) => f.subject.startsWith('createOrg'));
    expect(org).toMatchObject({ ok: true, message: expect.stringContaining('not checked') });
  });
});
