import { appendFileSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger, type BatchItem, type ReadContext, type SourceRecord } from '@qiao/core';
import { FileAppendTarget, FileSource, commitLogOf, readConnection } from '../src/index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'qiao-file-'));
const item = (key: string, payload: Record<string, unknown>): BatchItem => ({ payload, ctx: { key, maybeWritten: false, signal: new AbortController().signal, logger: silentLogger } });

async function read(path: string, partial: Partial<ReadContext> = {}, config: Record<string, unknown> = {}): Promise<{ records: SourceRecord[]; checkpoint?: string }> {
  const source = new FileSource(readConnection({ path, ...config }, '/'));
  const records: SourceRecord[] = [];
  let checkpoint: string | undefined;
  for await (const r of source.read({ params: {}, detail: false, lookbackMs: 0, signal: new AbortController().signal, logger: silentLogger, checkpoint: (c) => (checkpoint = c), ...partial })) records.push(r);
  return { records, checkpoint };
}

describe('file target: crash-safe, idempotent appends', () => {
  it('cuts off a tail that was never committed, and does not append a committed record twice', async () => {
    const d = dir();
    const file = join(d, 'out.jsonl');
    const t1 = new FileAppendTarget(readConnection({ path: file }, d));
    const first = await t1.writeBatch([item('1', { id: '1', name: '甲' }), item('2', { id: '2', name: '乙' })]);
    expect(first.map((r) => r.ok && r.result.outcome)).toEqual(['inserted', 'inserted']);
    t1.close();
    // a process that died after writing rows but before committing them
    appendFileSync(file, '{"id":"3","name":"丙"}\n{"id":"4","na');
    const t2 = new FileAppendTarget(readConnection({ path: file }, d));
    // re-delivery of a committed record (its confirmation was lost): not appended again
    const again = await t2.writeBatch([item('2', { id: '2', name: '乙' }), item('3', { id: '3', name: '丙' }), item('1', { id: '1', name: '甲二' })]);
    expect(again.map((r) => r.ok && r.result.outcome)).toEqual(['unchanged', 'inserted', 'updated']);
    t2.close();
    expect(readFileSync(file, 'utf8')).toBe('{"id":"1","name":"甲"}\n{"id":"2","name":"乙"}\n{"id":"3","name":"丙"}\n{"id":"1","name":"甲二"}\n');
    // a commit-log line torn by a crash is not a commit
    appendFileSync(commitLogOf(file), '{"end":99');
    const t3 = new FileAppendTarget(readConnection({ path: file }, d));
    expect((await t3.write({ id: '3', name: '丙' }, item('3', {}).ctx)).outcome).toBe('unchanged');
    t3.close();
  });

  it('CSV: a header first, quoting as needed, and a field that is not a column is a dead letter, not a failed run', async () => {
    const d = dir();
    const file = join(d, 'out.csv');
    const t = new FileAppendTarget(readConnection({ path: file }, d));
    // the columns are those of the first batch written
    expect((await t.writeBatch([item('1', { id: '1', name: { zh_CN: '北京, "总部"' } })]))[0]).toMatchObject({ ok: true });
    const r = await t.writeBatch([item('2', { id: '2', name: { zh_CN: '多\n行' }, extra: 'x' }), item('3', { id: '3', name: { zh_CN: '多\n行' } })]);
    expect(r[0]).toMatchObject({ ok: false, error: { reason: 'file.unknown_column' } });
    expect(r[1]).toMatchObject({ ok: true });
    t.close();
    expect(readFileSync(file, 'utf8')).toBe('id,name.zh_CN\n1,"北京, ""总部"""\n3,"多\n行"\n');
  });
});

describe('file source: incremental', () => {
  it('by a column: rows at or after the cursor minus the look-back', async () => {
    const d = dir();
    const file = join(d, 'in.csv');
    writeFileSync(file, 'id,updated\n1,2026-01-01T00:00:00Z\n2,2026-01-02T00:00:00Z\n3,2026-01-03T00:00:00Z\n');
    const all = await read(file, {}, { cursorField: 'updated' });
    expect(all.records.map((r) => r.key)).toEqual(['1', '2', '3']);
    const since = await read(file, { cursor: '2026-01-02T12:00:00Z', lookbackMs: 12 * 3600_000 }, { cursorField: 'updated' });
    expect(since.records.map((r) => r.key)).toEqual(['2', '3']);
  });

  it('by file modification time, over a folder', async () => {
    const d = dir();
    writeFileSync(join(d, 'a.jsonl'), '{"id":1}\n');
    writeFileSync(join(d, 'b.jsonl'), '{"id":12345678901234567890}\n');
    writeFileSync(join(d, 'notes.txt'), 'not data');
    utimesSync(join(d, 'a.jsonl'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    utimesSync(join(d, 'b.jsonl'), new Date('2026-02-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
    const first = await read(d);
    expect(first.records.map((r) => r.key)).toEqual(['1', '12345678901234567890']);
    expect(first.checkpoint).toBe('2026-02-01T00:00:00.000Z');
    const next = await read(d, { cursor: first.checkpoint });
    expect(next.records.map((r) => r.key)).toEqual(['12345678901234567890']);
  });
});
