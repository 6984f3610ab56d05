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
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? 'null');
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${stableStringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}
