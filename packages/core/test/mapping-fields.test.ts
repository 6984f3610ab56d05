import { describe, expect, it } from 'vitest';
import { checkMappingSources, unknownMappingFields } from '../src/scheme/mapping-fields.js';
import { closest } from '../src/scheme/validate-scheme.js';

const record = {
  type: 'object',
  properties: {
    company_id: { type: 'string' },
    name: { type: 'string' },
    homepage: { type: 'string' },
    tel: { type: ['array', 'null'], items: { type: 'string' } },
    customers: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, email: { type: 'string' }, main_customer_flag: { type: 'number' } } },
    },
    owner: { type: 'object', additionalProperties: false, properties: { user_id: { type: 'string' } } },
    extra: { type: 'object' },
  },
};

const unknown = (mapping: Record<string, string>) => unknownMappingFields(mapping, record).map((u) => `${u.target}:${u.path}`);

describe('the fields a mapping reads, checked against the record schema', () => {
  it('finds nothing wrong in expressions that read only listed fields', () => {
    expect(
      unknown({
        a: "homepage != '' ? homepage",
        b: "($c := $append(customers[main_customer_flag = 1], customers)[0]; $c.name != '' ? $c.name)",
        c: "tel[1] != '' ? (tel[0] != '' ? tel[0] & '-' & tel[1] : tel[1])",
        d: "$exists(company_id) ? company_id : 'X'",
        e: '$.name & $$.homepage',
        f: 'customers.email',
        g: '$map(customers, function($x) { $x.whatever })', // a lambda's parameter is not followed
        h: 'extra.anything', // no properties listed: not checked
        i: '{"n": name, "u": owner.user_id}',
        j: '"literal text"',
      }),
    ).toEqual([]);
  });

  it('finds a typo at the top level, in a predicate, under an array and through a bound variable', () => {
    expect(unknown({ website: "hompage != '' ? hompage" })).toEqual(['website:hompage']);
    expect(unknown({ c: 'customers[main_flag = 1].name' })).toEqual(['c:customers.main_flag']);
    expect(unknown({ c: 'customers.emial' })).toEqual(['c:customers.emial']);
    expect(unknown({ c: '($c := customers[0]; $c.nmae)' })).toEqual(['c:customers.nmae']);
    expect(unknown({ o: 'owner.userid', n: '$uppercase(nmae)' })).toEqual(['o:owner.userid', 'n:nmae']);
  });

  it('is a problem with "did you mean" for a near name or a closed object, a warning otherwise', () => {
    const r = checkMappingSources(
      { website: "hompage != '' ? hompage", o: 'owner.manager', x: 'custom_field_7' },
      record,
      'a.yaml',
      { connector: 'okki', stream: 'company' },
      closest,
    );
    expect(r.problems).toEqual([
      expect.objectContaining({ file: 'a.yaml', pointer: '/mapping/website', found: '"hompage"', hint: 'did you mean homepage?' }),
      expect.objectContaining({ pointer: '/mapping/o', expected: 'a field of the okki company record under owner', found: '"manager"' }),
    ]);
    expect(r.warnings).toEqual([expect.objectContaining({ pointer: '/mapping/x', found: '"custom_field_7"' })]);
  });
});
