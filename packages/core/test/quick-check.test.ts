import { describe, expect, it } from 'vitest';
import { compileQuickCheck, compileSchema } from '../src/manifest/ajv.js';
import { seededRandom } from '../src/util/seeded-random.js';

/** An operation input like YonBIP's merchant.save: closed, with patterns, lengths, formats, nested objects. */
const input = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  title: '客户档案',
  additionalProperties: false,
  required: ['code', 'name'],
  properties: {
    id: { type: 'string', pattern: '^[0-9]{1,19}$' },
    code: { type: 'string', minLength: 1, maxLength: 8 },
    name: { type: 'object', required: ['zh_CN'], properties: { zh_CN: { type: 'string', minLength: 1 } }, additionalProperties: false },
    createOrg: { type: 'string', pattern: '^[0-9]{1,19}$', default: '1481709712348020742' },
    merchantOptions: { type: 'boolean' },
    email: { type: 'string', format: 'email' },
    rank: { type: 'integer', minimum: 1, maximum: 5 },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
    kind: { enum: ['a', 'b'] },
  },
};

describe('compileQuickCheck', () => {
  it('never accepts what the full validator refuses, and accepts the valid payloads', () => {
    const quick = compileQuickCheck(input)!;
    expect(quick).toBeTypeOf('function');
    const full = compileSchema(input);
    const random = seededRandom(11);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const values: Record<string, unknown[]> = {
      id: ['1481709712348020742', '12a', 12, ''],
      code: ['C1', '', 'C12345678', 7, null],
      name: [{ zh_CN: '客户' }, { zh_CN: '' }, { en: 'x' }, { zh_CN: '客户', x: 1 }, 'name'],
      createOrg: ['1', 'x'],
      merchantOptions: [true, 'true'],
      email: ['a@b.cn', 'not an email'],
      rank: [3, 0, 2.5, '3'],
      tags: [['x'], ['x', 'y', 'z'], [1]],
      kind: ['a', 'c'],
      unknownField: ['x'],
    };
    let accepted = 0;
    let valid = 0;
    for (let i = 0; i < 3000; i++) {
      const payload: Record<string, unknown> = {};
      for (const [key, options] of Object.entries(values)) {
        // valid values most of the time, so that whole payloads are often valid
        if (random() < 0.5) payload[key] = random() < 0.85 ? options[0] : pick(options);
      }
      if (random() < 0.9) payload.code ??= 'C1';
      if (random() < 0.9) payload.name ??= { zh_CN: '客户' };
      const q = quick(payload);
      const f = full(payload);
      if (q) expect(f, JSON.stringify(payload)).toBe(true);
      if (f) expect(q, JSON.stringify(payload)).toBe(true);
      if (q) accepted++;
      if (f) valid++;
    }
    expect(valid).toBeGreaterThan(300);
    expect(valid).toBeLessThan(2700);
    expect(accepted).toBe(valid);
    for (const odd of [null, [], 'x', 1, undefined]) expect(quick(odd)).toBe(false);
  });

  it('leaves schemas it does not fully understand to the full validator', () => {
    expect(compileQuickCheck({ type: 'object', properties: {}, allOf: [{ required: ['a'] }] })).toBeUndefined();
    expect(compileQuickCheck({ type: 'object', additionalProperties: { type: 'string' } })).toBeUndefined();
    expect(compileQuickCheck({ type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: {} } })).toBeUndefined();
    expect(compileQuickCheck({ type: 'object', properties: { a: { $ref: '#/x' } } })).toBeUndefined();
    expect(compileQuickCheck({ type: 'array' })).toBeUndefined();
  });
});
