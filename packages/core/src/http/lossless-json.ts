import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

export type BigIntegerMode = 'string' | 'bigint';

/**
 * Parses JSON without losing digits: integers beyond 2^53 (YonBIP's 19-digit ids) come out as digit
 * strings (`mode: 'string'`, the default: ids are strings everywhere in qiao) or as `bigint`.
 * `JSON.parse` would silently round them (1481709712348020742 → 1481709712348020700).
 */
export function parseJson(text: string, mode: BigIntegerMode = 'string'): unknown {
  return parse(text, null, (value: string) => {
    if (isSafeNumber(value)) return Number(value);
    if (isInteger(value)) return mode === 'bigint' ? BigInt(value) : value;
    // A long decimal: keep the closest double (no id is a decimal).
    return Number(value);
  });
}

/** Stringifies JSON; `bigint` values are written as bare integers, with every digit. */
export function stringifyJson(value: unknown): string {
  return stringify(value) ?? 'null';
}
