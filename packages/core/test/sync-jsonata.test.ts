import { readFileSync } from 'node:fs';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { seededRandom } from '../src/index.js';
import { Bail, compileSync } from '../src/mapping/sync-jsonata.js';

/** Records shaped like OKKI companies, with the awkward values mappings meet: missing, empty, null, mixed types. */
function records(n: number, seed: number): Record<string, unknown>[] {
  const r = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = (v: () => unknown): unknown => (r() < 0.15 ? undefined : r() < 0.1 ? null : v());
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const customers = Array.from({ length: pick([0, 1, 1, 2, 3]) }, (_, j) => {
      const c: Record<string, unknown> = {
        name: pick(['何霞', '', 'Li Lei', '  杨 芳 ', 'A']),
        email: pick(['', 'x@qiao.dev', 'fang.yang@dongruimaterials.com']),
        main_customer_flag: pick([0, 1, 1, '1', null]),
        tel_list: pick([[], [['+86', '13981925352']], [['', ''], ['021', '555']]]),
      };
      if (r() < 0.2) delete c.email;
      if (j === 0 && r() < 0.1) c.extra = { deep: [1, 2] };
      return c;
    });
    const rec: Record<string, unknown> = {
      company_id: pick([56657420945736, '56657420945737', 3]),
      serial_id: maybe(() => pick(['', 'KH2024000001', 'KH-9'])),
      name: maybe(() => pick(['重庆市东瑞新材料有限公司', '', 'Qiao Bridge Ltd', ' x '])),
      short_name: maybe(() => pick(['', '东瑞', 'QB'])),
      homepage: maybe(() => pick(['', 'https://www.dongruimaterials.com'])),
      address: maybe(() => pick(['', '重庆市工业园区创业大道334号'])),
      city: pick(['上海', '北京', '重庆市', '']),
      code: pick(['ab', 'AB', 'Kh-1', '']),
      amount: pick([0, 1, 12.5, -3, 100, 0.1 + 0.2, 1e21, '7']),
      star: pick([0, 4, '4', null]),
      vip: pick([true, false, 'true', 0, 1, null, [], {}]),
      tags: pick([[], ['a'], ['a', 'b'], ['a', 'b', 'c'], 'solo', [['x', 'y'], 'z']]),
      tel: pick([['023', '37236515'], ['', '37236515'], ['', ''], [], ['023'], null, '37236515']),
      customers,
      nested: pick([{ deep: { value: 1 } }, { deep: [{ value: 1 }, { value: 2 }] }, { list: [{ id: 1 }, { id: 2 }, { name: 'n' }] }, {}, null]),
    };
    for (const k of Object.keys(rec)) if (rec[k] === undefined) delete rec[k];
    out.push(rec);
  }
  return out;
}

const TEMPLATE = new URL('../../runner-cli/templates/okki-to-yonbip.scheme.yaml', import.meta.url);
const templateExpressions = (): string[] =>
  Object.values((parse(readFileSync(TEMPLATE, 'utf8')) as { mapping: Record<string, unknown> }).mapping).filter((v): v is string => typeof v === 'string');

const MORE = [
  'name',
  'nested.deep.value',
  'nested.list.id',
  'customers.name',
  'customers[0].name',
  'customers[-1].email',
  'customers[5]',
  'customers[main_customer_flag = 1].name',
  'customers[main_customer_flag = 1][0]',
  'customers[email != \'\'].email',
  'customers[$length(name) > 2].name',
  'customers.tel_list[0]',
  'customers',
  'tags[1]',
  'tags[-1]',
  'tags[0][0]',
  '$count(tags)',
  '$count(customers)',
  "$append(tags, 'x')",
  '$append(customers[main_customer_flag = 1], customers)[0].name',
  'amount > 10',
  'amount >= 10 and amount <= 100',
  'amount + 1',
  'amount * 2 - 1',
  'amount / 3',
  'amount % 2',
  "amount & ''",
  "name & ' ' & city",
  "city = '上海' or city = '北京'",
  'star = 4',
  'vip = true',
  'vip ? 1 : 0',
  '$not(vip)',
  '$boolean(tags)',
  '$boolean(nested)',
  "$exists(serial_id) ? serial_id : 'none'",
  '$string(amount)',
  '$string(customers)',
  '$string(tel)',
  '$trim(name)',
  '$uppercase(code)',
  '$lowercase(code)',
  '$length(name)',
  "($x := amount; $x > 5 ? 'big' : 'small')",
  "($a := tags[0]; $b := tags[1]; $a & '-' & $b)",
  '($c := customers[0]; $c.email)',
  '$.name',
  '$$.city',
  'tel = tel',
  'nested = nested',
  'customers.tel_list',
  'customers[0].tel_list[0][1]',
  '$count(customers.name)',
  'customers[main_customer_flag]',
  'customers[1 = 1].name',
  'customers[name].email',
  "customers[main_customer_flag = 1 or name = 'A'].name",
  '$exists(customers[0].email) and $length(customers[0].email) > 3',
  'nested.list[id = 2].id',
  'nested.deep',
  '$string(nested)',
  "amount = '7'",
  'star != 4',
  "tags = 'solo'",
  '$boolean(vip)',
  '$append(tags, tags)',
  '$append(nested, tags)[1]',
  'customers.$uppercase(name)',
  "(customers)[0].name",
  "name ? name : 'x'",
  '[name, city]',
  "code in ['ab', 'AB']",
  '$substring(name, 1)',
];

/** Arrays without JSONata's sequence markers, for comparison. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v, plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function compare(source: string, data: Record<string, unknown>[]): Promise<{ compiled: boolean; bailed: number }> {
  const expr = jsonata(source);
  const fast = compileSync(expr.ast());
  if (!fast) return { compiled: false, bailed: 0 };
  let bailed = 0;
  for (const rec of data) {
    let expected: { value: unknown } | { error: unknown };
    try {
      expected = { value: await expr.evaluate(rec) };
    } catch (error) {
      expected = { error };
    }
    let actual: { value: unknown } | { bail: true };
    try {
      actual = { value: fast(rec) };
    } catch (e) {
      if (!(e instanceof Bail)) throw e;
      actual = { bail: true };
    }
    if ('bail' in actual) {
      bailed++;
      continue;
    }
    // where JSONata raises an error, the synchronous evaluator must hand the record over, not answer
    expect('error' in expected ? expected : plain(actual.value), `${source} on ${JSON.stringify(rec)}`).toEqual(
      'error' in expected ? { bail: true } : plain(expected.value),
    );
  }
  return { compiled: true, bailed };
}

describe('synchronous JSONata evaluator', () => {
  it("gives JSONata's results for the template's mapping, without handing any record over", async () => {
    const data = records(400, 1);
    const exprs = templateExpressions();
    expect(exprs.length).toBeGreaterThanOrEqual(6);
    for (const source of exprs) {
      const { compiled, bailed } = await compare(source, data);
      expect(compiled, source).toBe(true);
      // the template's expressions never need JSONata on such records
      expect(bailed, source).toBe(0);
    }
  });

  it("gives JSONata's results, or hands the record over, for paths, filters, operators, blocks and functions", async () => {
    const data = records(300, 2);
    const notCompiled: string[] = [];
    for (const source of MORE) {
      const { compiled } = await compare(source, data);
      if (!compiled) notCompiled.push(source);
    }
    // all but the array constructor, `in` and $substring are covered
    expect(notCompiled).toEqual(['[name, city]', "code in ['ab', 'AB']", '$substring(name, 1)']);
  });

  it('leaves what it does not cover to JSONata', () => {
    for (const source of ['[name, city]', "code in ['a']", '$substring(name, 1)', 'customers^(name)', 'customers{name: email}', '$map(tags, function($t) { $t })', '**.name', 'customers#$i.name']) {
      expect(compileSync(jsonata(source).ast()), source).toBeUndefined();
    }
  });

  it('hands a record over where JSONata raises an error', () => {
    const fast = compileSync(jsonata('amount + 1').ast())!;
    expect(() => fast({ amount: 'seven' })).toThrow(Bail);
    expect(compileSync(jsonata('$uppercase(code)').ast())!({ code: 'ab' })).toBe('AB');
    expect(() => compileSync(jsonata('$uppercase(code)').ast())!({ code: 5 })).toThrow(Bail);
  });
});
