import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, tempDir } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;

/** The BIP code the template maps an OKKI company to. */
const codeOf = (c: Record<string, unknown>): string => String(c.serial_id || `OKKI-${String(c.company_id)}`);

describe('customers deleted in OKKI (target.onDelete) through the qiao binary on the simulators', { timeout: 120_000 }, () => {
  let okki: OkkiSandbox | undefined;
  let bip: YonbipSandbox | undefined;
  afterEach(async () => {
    await okki?.stop();
    await bip?.stop();
  });

  async function start(onDelete?: 'stop' | 'report', api: 'classic' | 'v2' = 'classic'): Promise<{ okki: OkkiSandbox; bip: YonbipSandbox; env: Record<string, string>; state: string }> {
    okki = await startOkkiSandbox({ customers: 30, removedCustomers: 3, seed: 11 });
    bip = await startYonbipSandbox({});
    const env: Record<string, string> = { ...simulatorEnv(okki, bip), YONBIP_API: api, OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '200' };
    if (onDelete) env.QIAO_ON_DELETE = onDelete;
    return { okki, bip, env, state: join(tempDir('qiao-deletes-'), 'state') };
  }

  it.each(['classic', 'v2'] as const)('onDelete: stop stops the BIP customer of a customer removed in OKKI after the next run, leaves the others alone, and starts it again when it is restored (YONBIP_API=%s)', async (api) => {
    const { okki, bip, env, state } = await start('stop', api);
    const run = async () => {
      const r = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, any>;
    };
    const first = await run();
    expect(first).toMatchObject({ status: 'succeeded', counts: { inserted: 30 } });
    // customers OKKI deleted before qiao ever saw them: nothing in BIP to stop, only reported
    expect(first.deletions).toMatchObject({ read: 3, notDelivered: 3, stopped: 0 });
    expect(bip.counters.stop).toBe(0);

    const [gone1, gone2] = okki.companies().slice(3, 5);
    expect(okki.deleteCompany(gone1!.company_id as number)).toBe(true);
    expect(okki.deleteCompany(gone2!.company_id as number)).toBe(true);
    // added and deleted between two runs: qiao never wrote it
    const brief = okki.addCompany({ name: '转瞬即逝贸易有限公司' });
    okki.deleteCompany(brief.company_id as number);

    const second = await run();
    expect(second).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 0, failed: 0 } });
    expect(second.deletions).toMatchObject({ read: 3, stopped: 2, notDelivered: 1, failed: 0 });
    for (const c of [gone1!, gone2!]) expect(bip.merchantByCode(codeOf(c))?.stopStatus, codeOf(c)).toBe(true);
    const stopped = bip.merchants().filter((m) => m.stopStatus === true);
    expect(stopped.map((m) => m.code).sort()).toEqual([codeOf(gone1!), codeOf(gone2!)].sort());
    expect(bip.merchants().filter((m) => m.code.includes('转瞬即逝'))).toHaveLength(0);

    // the look-back lists the same deletions again: nothing is stopped twice
    const stops = bip.counters.stop;
    const third = await run();
    expect(third.deletions).toMatchObject({ read: 3, stopped: 0 });
    expect(bip.counters.stop).toBe(stops);

    // restored in OKKI (unchanged otherwise): started again in BIP, not written again
    expect(okki.restoreCompany(gone1!.company_id as number)).toBe(true);
    const fourth = await run();
    expect(fourth).toMatchObject({ counts: { inserted: 0, failed: 0 } });
    expect(fourth.deletions).toMatchObject({ restored: 1 });
    expect(bip.merchantByCode(codeOf(gone1!))?.stopStatus).toBe(false);
    expect(bip.merchantByCode(codeOf(gone2!))?.stopStatus).toBe(true);
  });

  it('by default (report) nothing is written and qiao overview lists the customers deleted since the last run, as text and --json', async () => {
    const { okki, bip, env, state } = await start();
    const first = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(first.code, first.stderr).toBe(0);
    const gone = okki.companies()[7]!;
    okki.deleteCompany(gone.company_id as number);
    const second = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'succeeded', deletions: { read: 1, reported: 1, stopped: 0 } });
    expect(bip.counters.stop).toBe(0);
    expect(bip.merchantByCode(codeOf(gone))?.stopStatus).toBeUndefined();

    const json = await qiao(['overview', TEMPLATE, '--json', '--state', state], { env });
    expect(json.code, json.stderr).toBe(0);
    const o = JSON.parse(json.stdout) as { deletions: { sinceLastRun: number; counts: Record<string, number>; records: Record<string, unknown>[] } };
    expect(o.deletions.sinceLastRun).toBe(1);
    expect(o.deletions.counts).toEqual({ reported: 4 });
    expect(o.deletions.records[0]).toMatchObject({ key: String(gone.company_id), name: gone.name, status: 'reported', new: true });
    expect(o.deletions.records[0]!.deletedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    const text = await qiao(['overview', TEMPLATE, '--state', state], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Deleted in the source (4; 1 since the last run)');
    expect(text.stdout).toContain(String(gone.company_id));
    expect(text.stdout).toContain(String(gone.name));
    expect(text.stdout).toContain('onDelete: stop');
  });
});
