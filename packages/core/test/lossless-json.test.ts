import { describe, expect, it } from 'vitest';
import { hasLongDigitRun } from '../src/http/lossless-json.js';
import { parseJson, stringifyJson } from '../src/index.js';
import { seededRandom } from '../src/util/seeded-random.js';

const text = '{"code":"200","data":{"id":1481709712348020742,"amount":12.5,"n":42}}';

describe('lossless JSON', () => {
  it('JSON.parse corrupts a 19-digit id', () => {
    const parsed = JSON.parse(text) as { data: { id: number } };
    expect(String(parsed.data.id)).not.toBe('1481709712348020742');
  });

  it('keeps a 19-digit id exact as a digit string, and small numbers as numbers', () => {
    const parsed = parseJson(text) as { data: { id: unknown; amount: unknown; n: unknown } };
    expect(parsed.data.id).toBe('1481709712348020742');
    expect(parsed.data.amount).toBe(12.5);
    expect(parsed.data.n).toBe(42);
  });

  it('survives parse → stringify exactly in bigint mode', () => {
    expect(stringifyJson(parseJson(text, 'bigint'))).toBe(text);
  });
});

describe('lossless JSON on the native parser', () => {
  it('gives what the strict parser gives, whatever the digits', () => {
    const texts = [
      '{"id":1481709712348020742,"ids":[1481709712348020742,-1481709712348020743,12],"n":9007199254740991}',
      '{"s":"1481709712348020742","t":"a \\"quoted\\" 1481709712348020742, \\\\","u":1481709712348020742}',
      '{"d":1234567890123456.5,"e":1.2345678901234567e+25,"f":12345678901234567e2,"g":-0.12345678901234567}',
      '[1481709712348020742]',
      '{"nested":{"list":[{"id":1481712151907270669,"name":"上海桥梁有限公司"}]},"code":"200"}',
      '{"big":12345678901234567890123,"small":1234567890123456}',
    ];
    for (const text of texts) {
      const strict = parseJson(text, 'bigint');
      const asStrings = JSON.parse(JSON.stringify(strict, (_k, v: unknown) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v)));
      expect(parseJson(text), text).toEqual(asStrings);
    }
  });

  it('writes bigints as bare integers, and leaves strings that look like its mark alone', () => {
    expect(stringifyJson({ id: 1481709712348020742n, name: '客户', n: [1, -2n] })).toBe('{"id":1481709712348020742,"name":"客户","n":[1,-2]}');
    expect(stringifyJson({ id: 1n, s: '\u0000qiao-bigint:5' })).toBe('{"id":1,"s":"\\u0000qiao-bigint:5"}');
    expect(stringifyJson({ a: 'plain', b: [1, 2] })).toBe('{"a":"plain","b":[1,2]}');
    expect(stringifyJson(undefined)).toBe('null');
  });

  it('refuses malformed text', () => {
    expect(() => parseJson('{"id":1481709712348020742')).toThrow();
    expect(() => parseJson('<html>')).toThrow();
  });
});

describe('lossless JSON: long integers next to strings', () => {
  it('quotes only bare integers, whatever the strings around them hold', () => {
    const text =
      '{"a":"x\\"1481709712348020742","b":1481709712348020742,"c":"\\\\","d":-1481709712348020743,"e":"\\\\\\"2481709712348020742\\"","f":[1481709712348020744,"1481709712348020745"],"g":1.1481709712348020742,"h":1e-1481709712348020742}';
    const strict = parseJson(text, 'bigint') as Record<string, unknown>;
    expect(parseJson(text)).toEqual({
      a: strict.a,
      b: '1481709712348020742',
      c: '\\',
      d: '-1481709712348020743',
      e: strict.e,
      f: ['1481709712348020744', '1481709712348020745'],
      g: strict.g,
      h: strict.h,
    });
  });
});

describe('the long-digit test before parsing', () => {
  it('finds 16 digits in a row wherever they stand, as /\\d{16}/ does', () => {
    const random = seededRandom(7);
    const pick = (n: number) => Math.floor(random() * n);
    let found = 0;
    for (let k = 0; k < 4000; k++) {
      let text = '';
      const parts = 1 + pick(6);
      for (let p = 0; p < parts; p++) {
        text += 'x,"ab'.slice(0, pick(6)) + ' '.repeat(pick(20));
        // runs around the boundary that matters, anywhere in the text
        text += '1234567890123456789'.slice(0, 12 + pick(7));
      }
      const expected = /\d{16}/.test(text);
      if (expected) found++;
      expect(hasLongDigitRun(text), text).toBe(expected);
    }
    // both kinds of text were generated
    expect(found).toBeGreaterThan(500);
    expect(found).toBeLessThan(3500);
    expect(hasLongDigitRun('1234567890123456')).toBe(true);
    expect(hasLongDigitRun('123456789012345')).toBe(false);
    expect(hasLongDigitRun('')).toBe(false);
  });
});
