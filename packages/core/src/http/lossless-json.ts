import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

export type BigIntegerMode = 'string' | 'bigint';

/** 16 digits in a row: the shortest integer that may be beyond 2^53. Without one, no number can lose digits. */
const LONG_DIGITS = /\d{16}/;
/**
 * A string literal (matched whole, so digits inside it are left alone) or a bare integer of 16 digits
 * or more that is not part of a decimal or an exponent.
 */
const STRING_OR_LONG_INTEGER = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])(-?\d{16,})(?![\d.eE])/g;

/**
 * Parses JSON without losing digits: integers beyond 2^53 (YonBIP's 19-digit ids) come out as digit
 * strings (`mode: 'string'`, the default: ids are strings everywhere in qiao) or as `bigint`.
 * `JSON.parse` would silently round them (1481709712348020742 → 1481709712348020700).
 *
 * In string mode the native parser does the work: a text without 16 digits in a row is parsed as it
 * is; in one with long integers they are quoted first (a scan that skips string literals), which gives
 * the same value. As with `JSON.parse`, the last of duplicate keys wins.
 */
export function parseJson(text: string, mode: BigIntegerMode = 'string'): unknown {
  if (mode === 'string') {
    if (!LONG_DIGITS.test(text)) return JSON.parse(text);
    return JSON.parse(
      text.replace(STRING_OR_LONG_INTEGER, (token: string, integer?: string) =>
        integer === undefined || Number.isSafeInteger(Number(integer)) ? token : `"${integer}"`,
      ),
    );
  }
  return parse(text, null, (value: string) => {
    if (isSafeNumber(value)) return Number(value);
    if (isInteger(value)) return BigInt(value);
    // A long decimal: keep the closest double (no id is a decimal).
    return Number(value);
  });
}

/** Marks a bigint inside a JSON.stringify result, to be unquoted afterwards. */
const BIG = '\u0000qiao-bigint:';
const BIG_IN_TEXT = /"\\u0000qiao-bigint:(-?\d+)"/g;

/** Stringifies JSON; `bigint` values are written as bare integers, with every digit. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (e) {
    // JSON.stringify refuses a bigint with a TypeError (as it does a cycle, which throws again below)
    if (!(e instanceof TypeError)) throw e;
  }
  let marked = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return BIG + v.toString();
    if (typeof v === 'string' && v.startsWith(BIG)) marked = true;
    return v;
  });
  // a string of the data that looks like the mark: the slower, exact way
  if (marked) return stringify(value) ?? 'null';
  return (text ?? 'null').replace(BIG_IN_TEXT, '$1');
}
