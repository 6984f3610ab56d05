import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { RecordError, StateError, type BatchItem, type BatchResult, type Target, type TargetPayload, type WriteContext, type WriteResult } from '@qiao/core';
import { cell, flatten, formatOf, type FileFormat } from './formats.js';
import type { FileConnection } from './file-connection.js';

/** One line of the commit log: the data file's committed length after a write, and what it committed. */
interface Commit {
  end: number;
  /** `[key, hash of the payload]` of each record the write appended. */
  keys: [string, string][];
  /** CSV: the header's columns (first line only). */
  columns?: string[];
}

interface Open {
  fd: number;
  log: number;
  size: number;
  delivered: Set<string>;
  keys: Set<string>;
  columns: string[] | undefined;
}

/** The commit log of a data file, next to it. */
export function commitLogOf(file: string): string {
  return join(dirname(file), `.${basename(file)}.qiao-log`);
}

/**
 * `records.append`: appends records to a JSONL or CSV file, crash-safe and idempotent.
 *
 * - A batch is written in one `write` and fsynced; then one line naming the file's new length and the
 *   batch's `[key, payload hash]` pairs is appended to the commit log (`.<file>.qiao-log`) and fsynced.
 *   Only then does the write count as done.
 * - When the file is opened, anything after the last committed length (rows of a write the process
 *   died in) is cut off: those records were never confirmed, so the run delivers them again.
 * - A record whose key and payload the log already holds is answered `unchanged` and not appended
 *   again (a write that was committed but whose confirmation the process did not live to record).
 *   A record whose payload changed is appended again, as a new version (`updated`).
 * - A new CSV file gets its header through a temporary file that is fsynced and renamed into place,
 *   so the file exists complete with its header or not at all.
 */
export class FileAppendTarget implements Target {
  private open: Open | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly format: FileFormat;

  constructor(private readonly conn: FileConnection) {
    this.format = formatOf(conn.path, conn.format);
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const [r] = await this.writeBatch([{ payload, ctx }]);
    if (!r!.ok) throw r!.error;
    return r!.result;
  }

  writeBatch(items: BatchItem[]): Promise<BatchResult[]> {
    // one write at a time: the file's length and the log must move together
    const next = this.chain.then(() => this.append(items));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private append(items: BatchItem[]): BatchResult[] {
    const o = this.opened(items);
    const results: BatchResult[] = [];
    const lines: string[] = [];
    const committed: [string, string][] = [];
    const inBatch = new Set<string>();
    for (const { payload, ctx } of items) {
      const hash = createHash('sha1').update(JSON.stringify(payload)).digest('base64url');
      const id = `${ctx.key}\t${hash}`;
      if (o.delivered.has(id) || inBatch.has(id)) {
        results.push({ ok: true, result: { outcome: 'unchanged', id: ctx.key } });
        continue;
      }
      let line: string;
      try {
        line = this.format === 'jsonl' ? `${JSON.stringify(payload)}\n` : this.csvRow(payload, o.columns!);
      } catch (error) {
        results.push({ ok: false, error });
        continue;
      }
      inBatch.add(id);
      lines.push(line);
      committed.push([ctx.key, hash]);
      results.push({ ok: true, result: { outcome: o.keys.has(ctx.key) ? 'updated' : 'inserted', id: ctx.key } });
    }
    if (lines.length > 0) {
      const buf = Buffer.from(lines.join(''), 'utf8');
      try {
        writeSync(o.fd, buf, 0, buf.length, o.size);
        fsyncSync(o.fd);
        this.commit(o, { end: o.size + buf.length, keys: committed });
      } catch (error) {
        // the rows may be in the file, uncommitted: cut them off before anything else is appended
        this.close();
        throw new StateError(`file ${this.conn.path}: could not append (${(error as Error).message})`, { path: this.conn.path, reason: 'state.unavailable', cause: error, hint: 'check the disk (space, permissions)' });
      }
      o.size += buf.length;
      for (const [k, h] of committed) {
        o.delivered.add(`${k}\t${h}`);
        o.keys.add(k);
      }
    }
    return results;
  }

  private csvRow(payload: TargetPayload, columns: string[]): string {
    const flat = flatten(payload);
    const unknown = Object.keys(flat).filter((k) => !columns.includes(k) && flat[k] !== undefined);
    if (unknown.length > 0) {
      throw new RecordError(`file ${basename(this.conn.path)}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a column' : 'are not columns'} of the CSV file (${columns.join(', ')})`, {
        system: 'file',
        reason: 'file.unknown_column',
        hint: 'list every column in the connection (columns: [...]), or write to a new file',
      });
    }
    return stringify([columns.map((c) => cell(flat[c]))], { delimiter: this.conn.delimiter, quoted_match: /^\s|\s$/ });
  }

  private commit(o: Open, c: Commit): void {
    const line = Buffer.from(`${JSON.stringify(c)}\n`, 'utf8');
    writeSync(o.log, line);
    fsyncSync(o.log);
  }

  /** Opens the file and its log, cutting off an uncommitted tail; a new CSV file gets its header first. */
  private opened(first: BatchItem[]): Open {
    if (this.open) return this.open;
    const file = this.conn.path;
    mkdirSync(dirname(file), { recursive: true });
    const logPath = commitLogOf(file);
    const commits = existsSync(logPath) ? readCommits(logPath) : [];
    const end = commits.at(-1)?.end ?? 0;
    let columns = commits.find((c) => c.columns)?.columns;
    if (!existsSync(file) && end > 0) {
      throw new StateError(`file ${file} is gone, but its commit log ${logPath} says ${end} bytes were written`, {
        path: file,
        reason: 'state.deleted',
        hint: `to start a new file, delete ${logPath} too`,
      });
    }
    if (this.format === 'csv' && end === 0) {
      columns = this.conn.columns ?? [...new Set(first.flatMap((i) => Object.keys(flatten(i.payload))))];
      const header = Buffer.from(stringify([columns], { delimiter: this.conn.delimiter }), 'utf8');
      const tmp = `${file}.qiao-tmp`;
      const t = openSync(tmp, 'w');
      writeSync(t, header);
      fsyncSync(t);
      closeSync(t);
      renameSync(tmp, file);
      fsyncDir(dirname(file));
      const log = openSync(logPath, 'a');
      const fd = openSync(file, 'r+');
      this.open = { fd, log, size: header.length, delivered: new Set(), keys: new Set(), columns };
      this.commit(this.open, { end: header.length, keys: [], columns });
      return this.open;
    }
    const fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    const size = fstatSync(fd).size;
    if (size < end) {
      closeSync(fd);
      throw new StateError(`file ${file} is shorter (${size} bytes) than its commit log says (${end})`, {
        path: file,
        reason: 'state.corrupt',
        hint: `the file was changed outside qiao; move it and ${logPath} aside to start a new one`,
      });
    }
    // rows of a write that was never committed: the run delivers them again
    if (size > end) {
      ftruncateSync(fd, end);
      fsyncSync(fd);
    }
    const delivered = new Set<string>();
    const keys = new Set<string>();
    for (const c of commits) for (const [k, h] of c.keys) {
      delivered.add(`${k}\t${h}`);
      keys.add(k);
    }
    this.open = { fd, log: openSync(logPath, 'a'), size: end, delivered, keys, columns };
    return this.open;
  }

  /** Closes the file (the next write opens it again, cutting off what was not committed). */
  close(): void {
    if (!this.open) return;
    try {
      closeSync(this.open.fd);
      closeSync(this.open.log);
    } finally {
      this.open = undefined;
    }
  }
}

/** The commit log's complete lines (a line torn by a crash is not a commit). */
function readCommits(path: string): Commit[] {
  const out: Commit[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Commit);
    } catch {
      break;
    }
  }
  return out;
}

function fsyncDir(dir: string): void {
  try {
    const d = openSync(dir, 'r');
    fsyncSync(d);
    closeSync(d);
  } catch {
    // not every platform can fsync a folder
  }
}
