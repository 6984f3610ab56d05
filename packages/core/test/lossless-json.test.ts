import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../src/index.js';

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
