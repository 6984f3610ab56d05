import { hash } from 'node:crypto';

/**
 * A content hash of a payload: the same content gives the same fingerprint whatever the key order, so
 * a record that did not change since it was last delivered is skipped.
 */
export function fingerprint(value: unknown): string {
  // crypto.hash: one call, no Hash object whose native state waits for the GC
  return hash('sha256', stableStringify(value), 'base64url').slice(0, 22);
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
