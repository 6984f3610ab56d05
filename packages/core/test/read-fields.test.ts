import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { DeclarativeMapper } from '../src/index.js';
import { readFields } from '../src/mapping/read-fields.js';

const fields = (expr: string) => {
  const f = readFields(jsonata(expr).ast());
  return f ? [...f].sort() : undefined;
};

describe('the fields a mapping reads', () => {
  it("names every field an expression can reach, nested names included (harmless extra)", () => {
    expect(fields("$exists(serial_id) and serial_id != '' ? serial_id : 'OKKI-' & company_id")).toEqual(['company_id', 'serial_id']);
    expect(fields("($c := $append(customers[main_customer_flag = 1], customers)[0]; $c.name != '' ? $c.name)")).toEqual([
      'customers',
      'main_customer_flag',
      'name',
    ]);
    expect(fields("tel[1] != '' ? (tel[0] != '' ? tel[0] & '-' & tel[1] : tel[1])")).toEqual(['tel']);
    expect(fields('name.zh_CN')).toEqual(['name', 'zh_CN']);
    expect(fields('[a, -b, "x"]')).toEqual(['a', 'b']);
    expect(fields('$uppercase($trim(city)) in ["SH", "BJ"]')).toEqual(['city']);
    expect(fields('{"k": name, code: "x"}')).toEqual(['code', 'name']);
  });

  it('gives up (any field) where an expression can reach fields it does not name', () => {
    for (const e of ['$', '$$', '$$.name', '$keys($)', '$lookup($, "a")', 'a.*', '**.x', 'customers.%.name', 'name ~> $uppercase', 'function($x){$x}(name)', '$each(a, function($v){$v})', '$sift(a, function($v){$v})', '$eval("name")', 'a^(b)']) {
      expect(fields(e), e).toBeUndefined();
    }
  });

  it('DeclarativeMapper.reads: the union over its expressions, literals reading nothing; undefined if any reads anything', () => {
    const { mapper } = DeclarativeMapper.compile({ code: 'id', 'name.zh_CN': 'name', org: { value: '1481709712348020742' }, n: 5 });
    expect([...mapper.reads!].sort()).toEqual(['id', 'name']);
    expect(DeclarativeMapper.compile({ code: 'id', all: '$keys($)' }).mapper.reads).toBeUndefined();
  });
});
