import { hash } from 'node:crypto';

/**
 * A content hash of a payload: the same content gives the same fingerprint whatever the key order, so
 * a record that did not change since it was last delivered is skipped.
 */
export function fingerprint(value: unknown): string {
  // crypto.hash: one call, no Hash object whose native state waits for the GC
  return hash('sha256', canonicalJson(value), 'base64url').slice(0, 22);
}

/**
 * The payload as JSON with every object's keys sorted: {@link stableStringify}'s text, made by the
 * native JSON.stringify from a key-sorted copy where that gives the same text (plain objects and
 * arrays of JSON values, no array-index keys, no bigints) — one flat string instead of a chain of
 * pieces, a third of the time.
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value);
  return sorted === BAIL ? stableStringify(value) : (JSON.stringify(sorted) ?? 'null');
}

const BAIL = Symbol('bail');

/** The value with its objects' keys in sorted order, or BAIL where JSON.stringify would not give stableStringify's text. */
function sortedCopy(v: unknown): unknown {
  if (v === null) return v;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      // undefined, bigint, function, symbol: written differently (or refused) by JSON.stringify
      return BAIL;
  }
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      // stableStringify writes null for an undefined item, as JSON.stringify does
      const c = x === undefined ? null : sortedCopy(x);
      if (c === BAIL) return BAIL;
      out[i] = c;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return BAIL; // a Date, a Map, a class: toJSON and friends
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  sortKeys(keys);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    // array-index keys are written by JSON.stringify in numeric order, not in sorted order
    const c0 = k.charCodeAt(0);
    if ((c0 >= 0x30 && c0 <= 0x39 && isArrayIndex(k)) || k === '__proto__') return BAIL;
    const x = o[k];
    if (x === undefined) continue;
    const c = sortedCopy(x);
    if (c === BAIL) return BAIL;
    out[k] = c;
  }
  return out;
}

/** Sorts as Array.prototype.sort() does (UTF-16 code units), in place; insertion sort for a payload's few keys. */
function sortKeys(keys: string[]): void {
  if (keys.length > 32) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
}

function isArrayIndex(k: string): boolean {
  if (!/^(0|[1-9]\d*)$/.test(k)) return false;
  return Number(k) < 4294967295;
}

export function stableStringify(value: unknown): string {
  // one string built as it goes (no array per object or list): fingerprints are taken of every record
  let out = '';
  const write = (v: unknown): void => {
    if (v === null || typeof v !== 'object') {
      out += typeof v === 'bigint' ? v.toString() : (JSON.stringify(v) ?? 'null');
      return;
    }
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ',';
        write(v[i]);
      }
      out += ']';
      return;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    out += '{';
    let first = true;
    for (const k of keys) {
      const x = o[k];
      if (x === undefined) continue;
      if (!first) out += ',';
      first = false;
      out += JSON.stringify(k) + ':';
      write(x);
    }
    out += '}';
  };
  write(value);
  return out;
}
