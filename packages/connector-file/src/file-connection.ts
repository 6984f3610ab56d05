import { isAbsolute, resolve } from 'node:path';

/** The connection block of a file scheme, defaults applied, `path` absolute. */
export interface FileConnection {
  path: string;
  format?: 'jsonl' | 'csv' | undefined;
  primaryKey: string;
  cursorField?: string | undefined;
  delimiter: string;
  columns?: string[] | undefined;
}

/** Reads the connection; a relative `path` is taken from `baseDir` (the scheme's folder). */
export function readConnection(config: Record<string, unknown>, baseDir: string): FileConnection {
  const path = String(config.path ?? '');
  return {
    path: isAbsolute(path) ? path : resolve(baseDir, path),
    format: config.format === 'csv' || config.format === 'jsonl' ? config.format : undefined,
    primaryKey: typeof config.primaryKey === 'string' && config.primaryKey ? config.primaryKey : 'id',
    cursorField: typeof config.cursorField === 'string' && config.cursorField ? config.cursorField : undefined,
    delimiter: typeof config.delimiter === 'string' && config.delimiter ? config.delimiter : ',',
    columns: Array.isArray(config.columns) ? config.columns.map(String) : undefined,
  };
}
