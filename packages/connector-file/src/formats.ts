import { basename, extname } from 'node:path';
import { InputError } from '@qiao/core';

export type FileFormat = 'jsonl' | 'csv';

/** The format of a file: the connection's `format`, else its extension. */
export function formatOf(path: string, declared: unknown): FileFormat {
  if (declared === 'jsonl' || declared === 'csv') return declared;
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new InputError([
    {
      file: 'connection file',
      pointer: '/format',
      expected: 'jsonl or csv (or a file ending in .jsonl, .ndjson or .csv)',
      found: JSON.stringify(basename(path)),
      hint: 'set format: jsonl or format: csv in the connection',
    },
  ]);
}

/** `{a: {b: 1}}` → `{"a.b": 1}`; arrays are kept as JSON text. */
export function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, out);
    else out[name] = v;
  }
  return out;
}

/** A CSV cell: strings as they are, `null`/absent empty, numbers and booleans as text, arrays as JSON. */
export function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
