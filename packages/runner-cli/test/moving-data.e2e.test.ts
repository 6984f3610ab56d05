import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, tempDir } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;

/** YonBIP's code for an OKKI customer, as the template maps it. */
const codeOf = (c: Record<string, unknown>) => (String(c.serial_id ?? '') !== '' ? String(c.serial_id) : `OKKI-${String(c.company_id)}`);

/**
 * Customers are edited, added, deleted and moved in OKKI while qiao pages through them (issue 14): after
 * the runs, every live OKKI customer is in YonBIP once, with OKKI's latest fields.
 */
describe('OKKI → YonBIP while OKKI changes under the read', () => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;
  let env: Record<string, string>;
  const state = join(tempDir('qiao-moving-'), 'state');

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 150, seed: 21 });
    bip = await startYonbipSandbox({});
    env = { ...simulatorEnv(okki, bip), OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '200', OKKI_CONCURRENCY: '4', YONBIP_CONCURRENCY: '8' };
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
  });

  /** Every live OKKI customer in YonBIP exactly once, field by field. */
  const expectYonbipEqualsOkki = () => {
    const live = okki.companies();
    const inserts = bip.insertsByCode();
    for (const c of live) {
      const code = codeOf(c);
      const m = bip.merchantByCode(code) as Record<string, any> | undefined;
      expect(m, `customer ${code} (company ${String(c.company_id)}) in YonBIP`).toBeDefined();
      expect(inserts.get(code), `inserts of ${code}`).toBe(1);
      expect(m!.name.zh_CN).toBe(c.name);
      expect(m!.address?.zh_CN, `address of ${code}`).toBe(c.address || undefined);
      if (c.short_name) expect(m!.shortname?.zh_CN).toBe(c.short_name);
      if (c.homepage) expect(m!.website).toBe(c.homepage);
    }
    return live.length;
  };

  it('a full read with deletes, edits, adds and moves between its pages misses no live customer', async () => {
    okki.setMutations({ rate: 0.6, kinds: ['edit', 'add', 'delete', 'shift'], on: 'list', max: 12 });
    const first = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(okki.counters.mutations).toBeGreaterThan(0);
    okki.setMutations({ rate: 0 });
    // what changed after the window's end (OKKI's clock) is for the next run; nothing before it is missed
    const second = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(second.code, second.stderr).toBe(0);
    expectYonbipEqualsOkki();
  });

  it('five incremental runs with changes at random moments, then one more: YonBIP equals OKKI', async () => {
    let changes = 0;
    for (let i = 0; i < 5; i++) {
      const before = okki.counters.mutations;
      // changes between runs give each run something to read; more come while it reads
      for (const kind of ['edit', 'edit', 'add', 'delete'] as const) okki.mutate(kind);
      okki.setMutations({ rate: 0.2, kinds: ['edit', 'add', 'delete', 'shift'], on: 'any', max: 15 });
      const r = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
      changes += okki.counters.mutations - before;
    }
    expect(changes).toBeGreaterThan(20);
    okki.setMutations({ rate: 0 });
    const last = await qiao(['run', TEMPLATE, '--json', '--state', state], { env });
    expect(last.code, last.stderr).toBe(0);
    expect(expectYonbipEqualsOkki()).toBeGreaterThan(140);
  });
});
