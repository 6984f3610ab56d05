import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, startQiao, tempDir, waitFor } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;

let okki: OkkiSandbox | undefined;
let bip: YonbipSandbox | undefined;
afterEach(async () => {
  await okki?.stop();
  await bip?.stop();
});

const codeOf = (c: Record<string, unknown>) => String(c.serial_id || `OKKI-${String(c.company_id)}`);

/** The template as shipped: YONBIP_API unset, so its default (v2) applies. */
function v2Env(o: OkkiSandbox, b: YonbipSandbox, extra: Record<string, string> = {}): Record<string, string> {
  const { YONBIP_API: _classic, ...env } = simulatorEnv(o, b);
  return { ...env, OKKI_REQUESTS_PER_SECOND: '500', YONBIP_REQUESTS_PER_SECOND: '500', OKKI_CONCURRENCY: '8', ...extra };
}

describe('YonBIP V2 batches through qiao run (the template’s default endpoint set)', () => {
  it('a batch answer with two refused records: two dead letters, every other customer written once', async () => {
    okki = await startOkkiSandbox({ customers: 120, seed: 11 });
    bip = await startYonbipSandbox();
    const companies = okki.companies();
    // Two customers whose names BIP already holds under other codes: 客户名称重复 for those two records only.
    for (const i of [17, 88]) bip.seedMerchant({ code: `OTHER-${i}`, name: String(companies[i]!.name) });
    const state = join(tempDir('qiao-batch-dead-'), 'state');
    const r = await qiao(['run', TEMPLATE, '--json', '--state', state], { env: v2Env(okki, bip) });
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'partial', counts: { read: 120, inserted: 118, failed: 2 } });
    const dead = JSON.parse((await qiao(['queue', TEMPLATE, '--status', 'dead', '--json', '--state', state], { env: v2Env(okki, bip) })).stdout) as { items: { key: string }[] };
    expect(dead.items.map((i) => i.key).sort()).toEqual([String(companies[17]!.company_id), String(companies[88]!.company_id)].sort());
    // batches, not one call per customer
    expect(bip.counters.batchSave).toBeLessThanOrEqual(10);
    expect(bip.counters.save + bip.counters.list).toBe(0);
    const inserts = bip.insertsByCode();
    for (const [i, c] of companies.entries()) expect(inserts.get(codeOf(c)) ?? 0, codeOf(c)).toBe(i === 17 || i === 88 ? 0 : 1);
  }, 120_000);

  it('killed with SIGKILL while a batch it sent was committed but not answered; the rerun writes every customer exactly once', async () => {
    okki = await startOkkiSandbox({ customers: 400, seed: 12 });
    bip = await startYonbipSandbox({ latencyMs: 20 });
    const env = v2Env(okki, bip, { YONBIP_CONCURRENCY: '2' });
    const state = join(tempDir('qiao-batch-kill-'), 'state');
    // The third batch is applied, then its answer never comes: the process dies waiting for it.
    let batches = 0;
    const run = startQiao(['run', TEMPLATE, '--json', '--state', state], { env });
    await waitFor(() => (batches = bip!.counters.batchSave) >= 2, 30_000, 'two batches');
    bip.dropAfterCommit(1, 'stall');
    const insertsAt = bip.counters.inserts;
    await waitFor(() => bip!.stalledAnswers === 1, 30_000, 'a batch committed and its answer held back');
    expect(bip.counters.inserts).toBeGreaterThan(insertsAt);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    // (the other writer may have sent the last customers already: what matters is the batch whose answer never came)
    expect(bip.merchants().length).toBeGreaterThan(0);
    expect(batches).toBeGreaterThanOrEqual(2);

    const again = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
    expect(bip.merchants()).toHaveLength(400);
    const inserts = bip.insertsByCode();
    for (const c of okki.companies()) expect(inserts.get(codeOf(c)), codeOf(c)).toBe(1);
  }, 120_000);
});
