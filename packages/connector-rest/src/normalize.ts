import type { RestStream } from './manifest/rest-manifest-types.js';

/**
 * Field normalisation a manifest declares (`normalize`), applied to every record in place (a record
 * is parsed for itself alone):
 * - `ids`: at any depth, numbers become strings, strings are trimmed (19-digit ids stay exact: the
 *   answer was parsed losslessly);
 * - `idLists`: top-level fields holding one id, a comma-separated list or an array → `string[]`
 *   (empty and `"0"` entries dropped);
 * - `numbers`: at any depth, digit strings become numbers, `""` becomes `null`;
 * - `dates`: `""` becomes `null`;
 * - `sentinels`: any string equal (trimmed) to one of them becomes `null` (`1970-01-01 00:00:00`);
 * - `pairs` / `pairLists`: `[a, b]`, `{"0": a, "1": b}`, `{<x>_area_code, <x>}` or a bare string →
 *   a `[string, string]` pair (or a list of pairs).
 */
export type Normalizer = (record: Record<string, unknown>) => Record<string, unknown>;

const enum Kind {
  Id = 1,
  Number,
  Date,
  Pair,
  PairList,
}

export function compileNormalizer(spec: RestStream['normalize']): Normalizer {
  if (!spec) return (r) => r;
  const kinds = new Map<string, Kind>();
  for (const k of spec.dates ?? []) kinds.set(k, Kind.Date);
  for (const k of spec.ids ?? []) kinds.set(k, Kind.Id);
  for (const k of spec.numbers ?? []) kinds.set(k, Kind.Number);
  for (const k of spec.pairs ?? []) kinds.set(k, Kind.Pair);
  for (const k of spec.pairLists ?? []) kinds.set(k, Kind.PairList);
  const idLists = new Set(spec.idLists ?? []);
  const sentinels = new Set(spec.sentinels ?? []);
  const minSentinel = Math.min(...[...sentinels].map((s) => s.length));

  const lengths = new Set([...sentinels].map((x) => x.length));
  // Most strings of a record are no sentinel: look at the length and the ends first (hashing every
  // string for a set lookup, or a regular expression over it, costs more than the rest of the record).
  const isSentinel = (s: string): boolean => {
    const n = s.length;
    if (sentinels.size === 0 || n < minSentinel) return false;
    if (isSpace(s.charCodeAt(0)) || isSpace(s.charCodeAt(n - 1))) return sentinels.has(s.trim());
    return lengths.has(n) && sentinels.has(s);
  };

  const entry = (key: string, value: unknown): unknown => {
    const kind = kinds.get(key);
    if (kind === Kind.Pair) return toPair(value);
    if (kind === Kind.PairList) return Array.isArray(value) ? value.map(toPair).filter((p) => p !== null) : [];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        const n = entry('', v);
        if (n !== v) value[i] = n;
      }
      return value;
    }
    if (value !== null && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue;
        const v = o[k];
        const n = entry(k, v);
        if (n !== v) o[k] = n;
      }
      return o;
    }
    if (typeof value === 'string' && isSentinel(value)) return null;
    if (kind === undefined) return value;
    if (kind === Kind.Date) return typeof value === 'string' && value.trim() === '' ? null : value;
    if (kind === Kind.Id) return toId(value);
    if (kind === Kind.Number && typeof value === 'string') {
      const t = value.trim();
      if (t === '') return null;
      if (/^-?\d+$/.test(t)) return Number(t);
    }
    return value;
  };

  return (record) => {
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      const value = record[key];
      const v = idLists.has(key) ? toIdList(value) : entry(key, value);
      if (v !== value) record[key] = v;
    }
    return record;
  };
}

/** JavaScript's white space and line terminators (what `trim()` removes). */
function isSpace(c: number): boolean {
  return c <= 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

export function toId(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value.trim();
  // a lossless number (19 digits): its exact text
  if (value !== null && typeof value === 'object' && (value as { isLosslessNumber?: boolean }).isLosslessNumber) return String(value);
  return value;
}

export function toIdList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map((v) => String(toId(v))).filter((v) => v !== '' && v !== '0');
  return String(toId(value))
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '' && p !== '0');
}

export function toPair(value: unknown): [string, string] | null {
  if (value === null || value === undefined) return null;
  const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v).trim());
  if (Array.isArray(value)) return [str(value[0]), str(value[1])];
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('0' in o || '1' in o) return [str(o['0']), str(o['1'])];
    const keys = Object.keys(o);
    const area = keys.find((k) => k.endsWith('area_code'));
    const rest = keys.find((k) => k !== area);
    return [str(area ? o[area] : ''), str(rest ? o[rest] : '')];
  }
  return ['', str(value)];
}
