import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorPlugin } from '@qiao/core';
import { memoryConnector } from '@qiao/core/testing';
import okkiPlugin from '@qiao/connector-okki';
import yonbipPlugin from '@qiao/connector-yonbip';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { diagnose, diagnoser, learnDiagnoses } from '../src/lib/diagnose.js';
import { qiao, simulatorEnv, tempDir } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const SCHEME_ID = 'okki-company-to-yonbip-merchant';

describe('diagnoses come from the connector plugins', () => {
  it("a connector qiao does not know by name explains its own errors through its plugin's diagnoses", () => {
    const acme: ConnectorPlugin = {
      ...memoryConnector,
      manifest: { ...memoryConnector.manifest, id: 'acme' },
      diagnoses: [
        { reason: 'acme.quota', message: 'daily', hint: 'Acme daily quota used up: run again tomorrow.' },
        { reason: /^acme\.quota/, hint: 'Acme quota: ask Acme for more.' },
      ],
    };
    expect(diagnose('acme.quota', 'daily quota exceeded')).toBeUndefined();
    learnDiagnoses(acme);
    expect(diagnose('acme.quota', 'daily quota exceeded')).toBe('Acme daily quota used up: run again tomorrow.');
    expect(diagnose('acme.quota_hourly', 'hourly')).toBe('Acme quota: ask Acme for more.');
    expect(diagnoser([acme])('acme.quota', 'monthly')).toBe('Acme quota: ask Acme for more.');
    expect(diagnoser([])('acme.quota', 'daily')).toBeUndefined();
  });

  it('the CLI names no connector and none of their error codes', () => {
    const source = readFileSync(new URL('../src/lib/diagnose.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/okki|yonbip|memory|999|310039/i);
  });

  it("YonBIP's and OKKI's hints come from their packages, before qiao's generic ones", () => {
    const d = diagnoser([okkiPlugin, yonbipPlugin]);
    expect(d('yonbip.999', '客户名称重复')).toMatch(/^客户名称重复: .*qiao queue retry/);
    expect(d('yonbip.999', '编码不能为空')).toMatch(/YonBIP rejected the record \(999\)/);
    expect(d('yonbip.310039')).toMatch(/YONBIP_REQUESTS_PER_SECOND/);
    expect(d('yonbip.auth')).toMatch(/YONBIP_APP_SECRET/);
    expect(d('okki.invalid_client')).toMatch(/OKKI_CLIENT_SECRET/);
    expect(d('okki.rate_limited')).toMatch(/OKKI_REQUESTS_PER_SECOND/);
    expect(d('okki.detail_not_found')).toMatch(/skipped/);
    // generic: any connector's network failure, and qiao's own reasons
    expect(diagnoser([])('acme.network')).toMatch(/could not be reached/);
    expect(diagnoser([])('acme.rate_limited')).toMatch(/requestsPerSecond/);
    expect(d('payload.invalid')).toMatch(/qiao preview/);
    expect(d('yonbip.12345')).toBeUndefined();
  });
});

describe('a YonBIP rejection shows its diagnosis in the run report and in the overview by scheme id', () => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 20, seed: 5 });
    bip = await startYonbipSandbox({});
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
  });

  it('客户名称重复 gets the rename hint from @qiao/connector-yonbip', async () => {
    // A customer already in BIP under another code with the same name: its Insert gets 999 客户名称重复.
    const victim = okki.companies()[3]!;
    bip.seedMerchant({ code: 'BIP-LEGACY-1', name: String(victim.name) });
    const state = join(tempDir('qiao-diagnose-'), 'state');
    const env = { ...simulatorEnv(okki, bip), OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '200' };

    const run = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as { errors: { code: string; count: number; hint?: string }[] };
    expect(report.errors).toEqual([expect.objectContaining({ code: 'yonbip.999', count: 1, hint: expect.stringMatching(/^客户名称重复: .*Rename one of the two/) })]);

    // by id: no scheme file, no environment; the diagnosis still comes from the YonBIP package
    const overview = await qiao(['overview', SCHEME_ID, '--json', '--state', state], { env: {} });
    expect(overview.code, overview.stderr).toBe(0);
    const o = JSON.parse(overview.stdout) as { deadLetters: { code: string; diagnosis?: string }[] };
    expect(o.deadLetters).toEqual([expect.objectContaining({ code: 'yonbip.999', diagnosis: expect.stringContaining('Rename one of the two') })]);

    const text = await qiao(['overview', SCHEME_ID, '--state', state], { env: {} });
    expect(text.stdout).toMatch(/1 × yonbip\.999: .*客户名称重复[^\n]*\n\s+→ 客户名称重复: the name is already used/);
  });
});
