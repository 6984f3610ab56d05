import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, startQiao, tempDir, waitFor } from './helpers.js';

const CODED = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const REST = new URL('../templates/okki-rest-to-yonbip.scheme.yaml', import.meta.url).pathname;

/** A YonBIP record without what the simulator makes up itself (ids, timestamps). */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([k]) => !/^(id|pubts|.*[Tt]ime|.*[Dd]ate|.*Id)$/.test(k))
      .map(([k, v]) => [k, comparable(v)]),
  );
}

function byCode(bip: YonbipSandbox): Map<string, unknown> {
  return new Map(bip.merchants().map((m) => [m.code, comparable(m)]));
}

/**
 * The proof of the declarative form: okki-to-yonbip (the coded OKKI connector) and okki-rest-to-yonbip
 * (OKKI declared in a REST manifest) read one OKKI simulator and write one YonBIP simulator each; after
 * every step both YonBIPs hold the same records, field for field, each customer once.
 */
describe('okki-rest-to-yonbip writes what okki-to-yonbip writes', () => {
  let okki: OkkiSandbox;
  const bips: Record<'coded' | 'rest', YonbipSandbox> = {} as never;
  const states = { coded: join(tempDir('qiao-eq-coded-'), 'state'), rest: join(tempDir('qiao-eq-rest-'), 'state') };
  const templates = { coded: CODED, rest: REST };
  const envOf = (side: 'coded' | 'rest') => ({
    ...simulatorEnv(okki, bips[side]),
    // set explicitly: the template's default may change
    YONBIP_API: 'classic',
    OKKI_REQUESTS_PER_SECOND: '300',
    YONBIP_REQUESTS_PER_SECOND: '300',
    OKKI_CONCURRENCY: '6',
    YONBIP_CONCURRENCY: '6',
  });
  const run = async (side: 'coded' | 'rest') => {
    const r = await qiao(['run', templates[side], '--json', '--state', states[side]], { env: envOf(side) });
    expect(r.code, `${side}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as { status: string; counts: Record<string, number> };
  };
  const expectEqual = (total: number) => {
    const coded = byCode(bips.coded);
    const rest = byCode(bips.rest);
    expect(coded.size).toBe(total);
    expect([...rest.keys()].sort()).toEqual([...coded.keys()].sort());
    for (const [code, record] of coded) expect(rest.get(code), code).toEqual(record);
    for (const bip of Object.values(bips)) expect([...bip.insertsByCode().values()].every((n) => n === 1)).toBe(true);
  };

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 150, seed: 17 });
    bips.coded = await startYonbipSandbox({});
    bips.rest = await startYonbipSandbox({});
  });
  afterAll(async () => {
    await okki?.stop();
    for (const b of Object.values(bips)) await b?.stop();
  });

  it('full sync', async () => {
    const coded = await run('coded');
    const rest = await run('rest');
    expect(coded.counts).toMatchObject({ read: 150, inserted: 150, failed: 0 });
    expect(rest.counts).toEqual(coded.counts);
    expectEqual(150);
    // the mapping's optional branches are exercised: records differ in which fields they carry
    const shapes = new Set([...byCode(bips.rest).values()].map((m) => Object.keys(m as object).sort().join()));
    expect(shapes.size).toBeGreaterThan(1);
  }, 120_000);

  it('then 5 changed and 3 new customers, incrementally', async () => {
    for (const c of okki.companies().slice(20, 25)) okki.updateCompany(String(c.company_id), { address: `${String(c.address)}（新址）`, short_name: '改' });
    for (let i = 0; i < 3; i++) okki.addCompany();
    const coded = await run('coded');
    const rest = await run('rest');
    expect(coded.counts).toMatchObject({ inserted: 3, updated: 5, failed: 0 });
    expect(rest.counts).toMatchObject({ inserted: 3, updated: 5, failed: 0 });
    expectEqual(153);
  }, 120_000);

  it('then token expiry and 10% faults', async () => {
    for (const c of okki.companies().slice(40, 52)) okki.updateCompany(String(c.company_id), { homepage: `https://example.cn/${String(c.company_id)}` });
    let calls = 0;
    okki.onRequest = () => {
      if (++calls % 25 === 0) okki.expireTokens();
    };
    okki.setFaults({ rate: 0.1, kinds: ['500', '503', '429', 'html', 'truncated'] });
    const before = { faults: okki.counters.faults, unauthorized: okki.counters.unauthorized };
    try {
      const coded = await run('coded');
      const rest = await run('rest');
      expect(coded.counts).toMatchObject({ updated: 12, failed: 0 });
      expect(rest.counts).toMatchObject({ updated: 12, failed: 0 });
    } finally {
      okki.setFaults({ rate: 0 });
      okki.onRequest = undefined;
    }
    expect(okki.counters.faults - before.faults).toBeGreaterThan(0);
    expect(okki.counters.unauthorized - before.unauthorized).toBeGreaterThan(0);
    expectEqual(153);
  }, 180_000);

  it('then SIGKILL mid-run and a rerun', async () => {
    const renamed = okki.companies().slice(60, 120);
    for (const c of renamed) okki.updateCompany(String(c.company_id), { name: `${String(c.name)}（更名）` });
    for (let i = 0; i < 10; i++) okki.addCompany();
    for (const side of ['coded', 'rest'] as const) {
      const bip = bips[side];
      bip.setLatency(40);
      const saves = bip.counters.save;
      const started = startQiao(['run', templates[side], '--json', '--state', states[side]], { env: { ...envOf(side), YONBIP_CONCURRENCY: '2' } });
      await waitFor(() => bip.counters.save >= saves + 12, 60_000, `${side}: writes under way`);
      started.child.kill('SIGKILL');
      expect((await started.done).signal).toBe('SIGKILL');
      bip.setLatency(0);
      expect(bip.counters.save - saves).toBeLessThan(70);
      const again = await run(side);
      expect(again.status).toBe('succeeded');
    }
    expectEqual(163);
    for (const c of renamed) {
      const code = String(c.serial_id || `OKKI-${String(c.company_id)}`);
      expect((bips.rest.merchantByCode(code)!.name as { zh_CN: string }).zh_CN).toMatch(/（更名）$/);
    }
  }, 180_000);
});

describe('qiao validate on a broken REST manifest', () => {
  const dir = tempDir('qiao-rest-broken-');
  const scheme = (manifest: string) =>
    writeFileSync(
      join(dir, 'broken.scheme.yaml'),
      `version: 1
id: broken-rest
source:
  connector: rest
  stream: items
  connection:
    manifest: ./${manifest}
    baseUrl: http://127.0.0.1:9
    secret: \${env:CRM_SECRET}
target:
  connector: yonbip
  operation: merchant.save
  connection: { tenantId: t, appKey: k, appSecret: s }
mapping:
  code: id
  name.zh_CN: name
`,
    );
  const manifest = (pagination: string, extra = '', records = '    records: $.data.rows\n') => `id: crm
name: CRM
version: 0.1.0
baseUrl: "{{connection.baseUrl}}"
connection:
  type: object
  properties:
    baseUrl: { type: string }
    secret: { type: string, x-secret: true }
auth: { kind: bearer, token: "{{connection.secret}}" }
envelope: { status: $.code, ok: [0] }
streams:
  - id: items
    label: Items
    request: { path: /items }
${records}    primaryKey: id
    pagination: ${pagination}
${extra}`;

  it('a wrong pagination kind, a missing records path, a bad JSONPath and a bad JSONata: exit 2, each with its pointer and a hint, no secret', async () => {
    scheme('broken.rest.yaml');
    const env = { CRM_SECRET: 'crm-secret-value-5' };
    const cases: [string, RegExp[]][] = [
      [manifest('{ kind: pages, param: page }'), [/broken\.rest\.yaml:\d+ at \/streams\/0\/pagination\/kind/, /hint: pagination kinds: none, page_number, offset, cursor, link_header/]],
      [manifest('{ kind: page_number, param: page }', '', ''), [/at \/streams\/0\/records: expected the property "records"/, /hint: give the JSONPath of the rows/]],
      [manifest('{ kind: cursor, param: after, next: "$.data[next" }'), [/at \/streams\/0\/pagination\/next: expected a JSONPath/, /bracket is not closed/, /hint: JSONPath starts at \$/]],
      [manifest('{ kind: page_number, param: page }', '    transform: "$merge([$, {"\n'), [/at \/streams\/0\/transform: expected a JSONata expression/, /hint: /]],
    ];
    for (const [text, patterns] of cases) {
      writeFileSync(join(dir, 'broken.rest.yaml'), text);
      const r = await qiao(['validate', join(dir, 'broken.scheme.yaml')], { env });
      expect(r.code, r.stderr).toBe(2);
      for (const p of patterns) expect(r.stderr).toMatch(p);
      expect(r.stderr + r.stdout).not.toContain('crm-secret-value-5');
      expect(r.stderr).not.toMatch(/bug in qiao|at .*\.js:\d+/);
    }
    // the same manifest, fixed: valid
    writeFileSync(join(dir, 'broken.rest.yaml'), manifest('{ kind: page_number, param: page }'));
    const ok = await qiao(['validate', join(dir, 'broken.scheme.yaml')], { env });
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);

  it('a manifest that is not there: exit 2 naming the path', async () => {
    scheme('missing.rest.yaml');
    const r = await qiao(['validate', join(dir, 'broken.scheme.yaml')], { env: { CRM_SECRET: 'x' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.rest\.yaml: expected a readable REST manifest file/);
  });
});
