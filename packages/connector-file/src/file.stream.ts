import { createReadStream, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { InputError, parseJson, type ReadContext, type Source, type SourceRecord } from '@qiao/core';
import { formatOf } from './formats.js';
import type { FileConnection } from './file-connection.js';

const READABLE = new Set(['.jsonl', '.ndjson', '.json', '.csv']);

/**
 * The `records` stream: every row of a JSONL or CSV file, or of every such file of a folder (name
 * order), streamed (memory stays flat). JSON lines are parsed losslessly (19-digit ids stay exact, as
 * strings); CSV cells are strings. Incremental by `cursorField` (rows at or after the cursor minus the
 * look-back, compared as dates when both are dates, else as text), or by file modification time (files
 * modified at or after the cursor minus the look-back; the cursor is the newest time read).
 */
export class FileSource implements Source {
  constructor(private readonly conn: FileConnection) {}

  async *read(ctx: ReadContext): AsyncGenerator<SourceRecord> {
    const { path, primaryKey, cursorField } = this.conn;
    const files = this.files();
    const since = ctx.cursor ? boundary(ctx.cursor, ctx.lookbackMs) : undefined;
    let newest: number | undefined;
    let yielded = 0;
    for (const file of files) {
      const mtime = statSync(file).mtimeMs;
      if (!cursorField && since !== undefined && typeof since === 'number' && mtime < since) continue;
      newest = Math.max(newest ?? 0, mtime);
      const mtimeIso = new Date(mtime).toISOString();
      let line = 0;
      for await (const row of this.rows(file)) {
        line++;
        const key = row[primaryKey];
        if (key === undefined || key === null || key === '') {
          ctx.logger.warn(`file ${file}: row ${line} has no ${primaryKey}; left out`);
          continue;
        }
        let cursor = mtimeIso;
        if (cursorField) {
          cursor = String(row[cursorField] ?? '');
          if (since !== undefined && !atOrAfter(cursor, since)) continue;
        }
        yield { stream: 'records', key: String(key), cursor, data: row };
        if (ctx.limit !== undefined && ++yielded >= ctx.limit) return;
      }
    }
    if (!cursorField && newest !== undefined && ctx.limit === undefined) ctx.checkpoint?.(new Date(newest).toISOString());
    void path;
  }

  private files(): string[] {
    const { path } = this.conn;
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new InputError([{ file: 'connection file', pointer: '/path', expected: 'an existing file or folder', found: JSON.stringify(path), hint: 'check the path (relative to the scheme file)' }], { system: 'file' });
    }
    if (!stat.isDirectory()) return [path];
    return readdirSync(path)
      .filter((f) => READABLE.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(path, f));
  }

  private async *rows(file: string): AsyncGenerator<Record<string, unknown>> {
    if (formatOf(file, this.conn.format) === 'csv') {
      const parser = createReadStream(file).pipe(parse({ columns: true, bom: true, delimiter: this.conn.delimiter, relax_column_count: false, skip_empty_lines: true }));
      for await (const row of parser) yield row as Record<string, unknown>;
      return;
    }
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let n = 0;
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      let row: unknown;
      try {
        row = parseJson(text);
      } catch (e) {
        throw new InputError([{ file, pointer: '', line: n, expected: 'one JSON object per line', found: (e as Error).message, hint: 'fix or remove that line' }], { system: 'file' });
      }
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        throw new InputError([{ file, pointer: '', line: n, expected: 'a JSON object', found: Array.isArray(row) ? 'an array' : typeof row, hint: 'each line must be one object' }], { system: 'file' });
      }
      yield row as Record<string, unknown>;
    }
  }
}

/** The lowest cursor an incremental read takes: a time when the cursor is a date, else the cursor text. */
function boundary(cursor: string, lookbackMs: number): number | string {
  const ms = Date.parse(cursor);
  return Number.isNaN(ms) ? cursor : ms - Math.max(0, lookbackMs);
}

function atOrAfter(value: string, since: number | string): boolean {
  if (typeof since === 'number') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? value >= new Date(since).toISOString() : ms >= since;
  }
  return value >= since;
}
