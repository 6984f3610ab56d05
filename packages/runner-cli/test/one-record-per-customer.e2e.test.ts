import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox, type YonbipSandboxOptions } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, tempDir } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;

let okki: OkkiSandbox | undefined;
let bip: YonbipSandbox | undefined;
afterEach(async () => {
  await okki?.stop();
  await bip?.stop();
  okki = bip = undefined;
});

type Api = 'classic' | 'v2';

async function sims(api: Api, options: YonbipSandboxOptions = {}, customers = 20) {
  okki = await startOkkiSandbox({ customers, seed: 5 });
  bip = await startYonbipSandbox(options);
  const env = { ...simulatorEnv(okki, bip), YONBIP_API: api, OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '200', OKKI_CONCURRENCY: '8', YONBIP_CONCURRENCY: '8' };
  const state = join(tempDir('qiao-one-record-'), 'state');
  const run = (file = TEMPLATE) => qiao(['run', file, '--json', '--state', state], { env });
  return { okki, bip, env, state, run };
}

type Company = Record<string, unknown> & { company_id: string | number; name: string; serial_id?: string };
const codeOf = (c: Company) => (c.serial_id ? String(c.serial_id) : `OKKI-${String(c.company_id)}`);

interface Report {
  status: string;
  counts: Record<string, number>;
  errors: { code: string; message: string; count: number; hint?: string }[];
}

/** YonBIP write calls of the endpoint set: merchant/save (classic), batch/merchant/save (v2). */
const saveCalls = (b: YonbipSandbox, api: Api) => (api === 'v2' ? b.counters.batchSave : b.counters.save);
/** Calls that read one customer's code or detail: merchant/detail (classic), newBatchDetail (v2). */
const detailCalls = (b: YonbipSandbox, api: Api) => b.counters.detail + b.counters.batchDetail;

for (const api of ['classic', 'v2'] as const) {
  describe(`one YonBIP record per OKKI customer, through the qiao binary (YONBIP_API=${api})`, { timeout: 120_000 }, () => {
    it('a coding rule replaced the code: the id map keeps it, and the rerun after an OKKI edit updates by it in one save', async () => {
      const { okki, bip, state, run } = await sims(api, { codingRule: { prefix: 'AUTO' } });
      const first = await run();
      expect(first.code, first.stderr).toBe(0);
      const company = okki.companies()[3] as Company;
      const before = bip.merchants().find((m) => m.name.zh_CN === company.name)!;
      expect(before.code).toMatch(/^AUTO/);
      const db = new Database(join(state, 'state.db'), { readonly: true });
      const row = db.prepare('SELECT target_id, target_code, business_key FROM delivered WHERE key = ?').get(String(company.company_id));
      db.close();
      expect(row).toEqual({ target_id: before.id, target_code: before.code, business_key: codeOf(company) });

      okki.updateCompany(company.company_id, { remark: 'x', address: '新地址 1 号' });
      const saves = saveCalls(bip, api);
      const details = detailCalls(bip, api);
      const second = await run();
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ counts: { inserted: 0, updated: 1, failed: 0 } });
      // one save, sent with the code YonBIP holds: no refused update, no detail call to find the code
      expect(saveCalls(bip, api) - saves).toBe(1);
      expect(detailCalls(bip, api) - details).toBe(0);
      expect(bip.merchants()).toHaveLength(20);
      expect(bip.merchantByCode(before.code)).toMatchObject({ id: before.id, address: { zh_CN: '新地址 1 号' } });
    });

    it('two OKKI customers with one serial_id: one dead letter naming both and the code, the first record untouched, exit 1; overview says what to do', async () => {
      const { okki, bip, env, state, run } = await sims(api);
      expect((await run()).code).toBe(0);
      const companies = okki.companies() as Company[];
      const [a, b] = companies.filter((c) => c.serial_id);
      const aBefore = structuredClone(bip.merchantByCode(codeOf(a!)));
      const bBefore = structuredClone(bip.merchantByCode(codeOf(b!)));
      okki.updateCompany(b!.company_id, { serial_id: a!.serial_id, homepage: 'https://b.example' });

      const r = await run();
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      expect(report).toMatchObject({ status: 'partial', counts: { failed: 1, updated: 0, inserted: 0 } });
      const [err] = report.errors;
      expect(err!.code).toBe('target.key_collision');
      expect(err!.message).toContain(String(b!.company_id));
      expect(err!.message).toContain(b!.name);
      expect(err!.message).toContain(String(a!.company_id));
      expect(err!.message).toContain(`"${String(a!.serial_id)}"`);
      expect(err!.hint).toMatch(/serial_id/);
      // nobody's record was overwritten
      expect(bip.merchantByCode(codeOf(a!))).toEqual(aBefore);
      expect(bip.merchantByCode(codeOf(b!))).toEqual(bBefore);
      expect(bip.merchants()).toHaveLength(20);

      const overview = await qiao(['overview', TEMPLATE, '--state', state], { env });
      expect(overview.stdout + overview.stderr).toMatch(/1 × target\.key_collision/);
      expect(overview.stdout + overview.stderr).toMatch(/→ .*serial_id.*qiao run/);

      // fixed in OKKI: the next run writes it under its own code
      okki.updateCompany(b!.company_id, { serial_id: 'KH-FIXED-1' });
      const fixed = await run();
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(bip.merchantByCode(codeOf(a!))).toEqual(aBefore);
    });

    it('a serial_id equal to another customer’s OKKI-<company_id> fallback, and two new customers with one serial_id in one run: refused the same way', async () => {
      const { okki, bip, state, run } = await sims(api);
      expect((await run()).code).toBe(0);
      const companies = okki.companies() as Company[];
      const noSerial = companies.find((c) => !c.serial_id)!;
      const other = companies.find((c) => c.serial_id)!;
      const fallback = `OKKI-${String(noSerial.company_id)}`;
      const heldBefore = structuredClone(bip.merchantByCode(fallback));
      expect(heldBefore).toBeDefined();
      okki.updateCompany(other.company_id, { serial_id: fallback });
      const n1 = okki.addCompany({ serial_id: 'DUP-NEW' }) as Company;
      const n2 = okki.addCompany({ serial_id: 'DUP-NEW' }) as Company;

      const r = await run();
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.counts).toMatchObject({ inserted: 1, updated: 0, failed: 2 });
      expect(bip.merchantByCode(fallback)).toEqual(heldBefore);
      const dup = bip.merchantByCode('DUP-NEW')!;
      expect(bip.insertsByCode().get('DUP-NEW')).toBe(1);
      const [winner, loser] = dup.name.zh_CN === n1.name ? [n1, n2] : [n2, n1];
      expect(dup.name.zh_CN).toBe(winner.name);

      // each dead letter names both customers and the code
      const db = new Database(join(state, 'state.db'), { readonly: true });
      const dead = new Map(
        (db.prepare(`SELECT key, last_error_code AS code, last_error_message AS message FROM queue WHERE status = 'dead'`).all() as { key: string; code: string; message: string }[]).map((d) => [d.key, d]),
      );
      db.close();
      expect([...dead.keys()].sort()).toEqual([String(other.company_id), String(loser.company_id)].sort());
      const fb = dead.get(String(other.company_id))!;
      expect(fb.code).toBe('target.key_collision');
      expect(fb.message).toContain(String(noSerial.company_id));
      expect(fb.message).toContain(`"${fallback}"`);
      const twin = dead.get(String(loser.company_id))!;
      expect(twin.code).toBe('target.key_collision');
      expect(twin.message).toContain(`${String(winner.company_id)} (${winner.name})`);
      expect(twin.message).toContain(`${String(loser.company_id)} (${loser.name})`);
      expect(twin.message).toContain('"DUP-NEW"');
    });
    it('a lookup finds a customer the id map ties to another OKKI customer (a row without codes, from before state v5): refused, nothing overwritten, exit 1', async () => {
      const { okki, bip, state, run } = await sims(api);
      expect((await run()).code).toBe(0);
      const [a] = (okki.companies() as Company[]).filter((c) => c.serial_id);
      // What state written before v5 holds: the target id, no business key, no code.
      const db = new Database(join(state, 'state.db'));
      db.prepare('UPDATE delivered SET target_code = NULL, business_key = NULL').run();
      db.close();
      const aBefore = structuredClone(bip.merchantByCode(codeOf(a!)));
      // A new OKKI customer with A's serial_id: nothing in the id map holds that code, so the lookup finds A's customer.
      const b = okki.addCompany({ serial_id: a!.serial_id, homepage: 'https://b.example' }) as Company;
      const saves = saveCalls(bip, api);

      const r = await run();
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      expect(report).toMatchObject({ status: 'partial', counts: { failed: 1, updated: 0, inserted: 0 } });
      expect(report.errors[0]!.code).toBe('target.key_collision');
      expect(report.errors[0]!.message).toContain(String(b.company_id));
      expect(report.errors[0]!.message).toContain(String(a!.company_id));
      expect(report.errors[0]!.message).toContain(`target id ${aBefore!.id}`);
      expect(bip.merchantByCode(codeOf(a!))).toEqual(aBefore);
      expect(bip.merchants()).toHaveLength(20);
      expect(saveCalls(bip, api)).toBe(saves);
    });
  });

  describe(`clears are written, through the qiao binary (YONBIP_API=${api})`, { timeout: 120_000 }, () => {
    /** A live customer with a homepage, an address and a short name. */
    function filled(okki: OkkiSandbox): Company {
      const c = (okki.companies() as Company[])[2]!;
      okki.updateCompany(c.company_id, { homepage: 'https://filled.example', address: '旧地址 9 号', short_name: '旧简称' });
      return okki.company(c.company_id) as Company;
    }

    it('a homepage, address and short name emptied in OKKI are cleared in YonBIP by the next run; inserts still leave empty fields out', async () => {
      const { okki, bip, run } = await sims(api);
      const c = filled(okki);
      expect((await run()).code).toBe(0);
      expect(bip.merchantByCode(codeOf(c))).toMatchObject({ website: 'https://filled.example', address: { zh_CN: '旧地址 9 号' }, shortname: { zh_CN: '旧简称' } });
      // an insert sends no empty field
      const empty = okki.addCompany({ homepage: '', address: '', short_name: '' }) as Company;

      okki.updateCompany(c.company_id, { homepage: '', address: '', short_name: '' });
      const r = await run();
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ counts: { inserted: 1, updated: 1, failed: 0 } });
      const m = bip.merchantByCode(codeOf(c))!;
      expect(m).not.toHaveProperty('website');
      expect(m).not.toHaveProperty('address');
      expect(m).not.toHaveProperty('shortname');
      expect(m.name.zh_CN).toBe(c.name);
      const added = bip.merchantByCode(codeOf(empty))!;
      expect(added).not.toHaveProperty('website');
      expect(added).not.toHaveProperty('shortname');

      // nothing changed since: nothing written, nothing cleared again
      const saves = saveCalls(bip, api);
      expect((await run()).code).toBe(0);
      expect(saveCalls(bip, api)).toBe(saves);
    });

    it('target.keepWhenEmpty keeps a field YonBIP holds when OKKI empties it; a field the mapping does not fill is refused by validate', async () => {
      const { okki, bip, env, run } = await sims(api);
      const dir = tempDir('qiao-keep-');
      const file = join(dir, 'scheme.yaml');
      const text = readFileSync(TEMPLATE, 'utf8');
      const withKeep = (fields: string) => text.replace('  limits:\n    requestsPerSecond: ${env:YONBIP_REQUESTS_PER_SECOND', `  keepWhenEmpty: [${fields}]\n  limits:\n    requestsPerSecond: \${env:YONBIP_REQUESTS_PER_SECOND`);
      writeFileSync(file, withKeep('website'));
      expect(readFileSync(file, 'utf8')).toContain('keepWhenEmpty: [website]');
      const c = filled(okki);
      expect((await run(file)).code).toBe(0);
      okki.updateCompany(c.company_id, { homepage: '', address: '' });
      const r = await run(file);
      expect(r.code, r.stderr).toBe(0);
      const m = bip.merchantByCode(codeOf(c))!;
      expect(m.website).toBe('https://filled.example');
      expect(m).not.toHaveProperty('address');

      writeFileSync(file, withKeep('webiste'));
      const bad = await qiao(['validate', file], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/\/target\/keepWhenEmpty\/0/);
      expect(bad.stderr).toMatch(/did you mean website/);
    });
  });
}
