import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { qiao, startQiao, tempDir, waitFor } from './helpers.js';

const N = 10_000;

/** Rows with what breaks naive exports: CJK, 19-digit ids, commas, quotes and newlines inside fields. */
function rows(): Record<string, string>[] {
  return Array.from({ length: N }, (_, i) => ({
    id: String(1870000000000000000n + BigInt(i) * 7919n),
    name: `青岛瑞海电器集团有限公司 ${i}号`,
    note: i % 3 === 0 ? `说明, 含逗号, "引号" 和\n换行 ${i}` : i % 3 === 1 ? `plain ${i}` : `"quoted", ${i}\r\nsecond line`,
    city: ['北京', 'Zürich', 'São Paulo', '東京'][i % 4]!,
    updated: `2026-01-${String((i % 28) + 1).padStart(2, '0')}T08:00:00Z`,
  }));
}

function scheme(id: string, from: string, to: string, extra = ''): string {
  return `version: 1
id: ${id}
source:
  connector: file
  stream: records
  connection:
    path: ${from}
${extra}target:
  connector: file
  operation: records.append
  connection:
    path: ${to}
mapping:
  id: id
  name: name
  note: note
  city: city
  updated: updated
`;
}

function jsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('file connector end to end', () => {
  it('10,000 rows round-trip JSONL → CSV → JSONL exactly (CJK, 19-digit ids, commas, quotes, newlines)', async () => {
    const dir = tempDir('qiao-file-rt-');
    const original = rows();
    writeFileSync(join(dir, 'original.jsonl'), original.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'to-csv.scheme.yaml'), scheme('to-csv', './original.jsonl', './out.csv'));
    writeFileSync(join(dir, 'to-jsonl.scheme.yaml'), scheme('to-jsonl', './out.csv', './back.jsonl'));
    const a = await qiao(['run', join(dir, 'to-csv.scheme.yaml'), '--json', '--state', join(dir, 'state-a')]);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ counts: { read: N, inserted: N, failed: 0 } });
    // a real CSV: any CSV reader gets the fields back
    const csv = parse(readFileSync(join(dir, 'out.csv')), { columns: true }) as Record<string, string>[];
    expect(csv).toHaveLength(N);
    expect(new Map(csv.map((r) => [r.id, r]))).toEqual(new Map(original.map((r) => [r.id, r])));

    const b = await qiao(['run', join(dir, 'to-jsonl.scheme.yaml'), '--json', '--state', join(dir, 'state-b')]);
    expect(b.code, b.stderr).toBe(0);
    const back = jsonl(join(dir, 'back.jsonl'));
    expect(back).toHaveLength(N);
    expect(new Map(back.map((r) => [r.id, r]))).toEqual(new Map(original.map((r) => [r.id, r])));

    // a second run: nothing new, nothing appended
    const again = await qiao(['run', join(dir, 'to-jsonl.scheme.yaml'), '--json', '--state', join(dir, 'state-b')]);
    expect(again.code).toBe(0);
    expect(jsonl(join(dir, 'back.jsonl'))).toHaveLength(N);
  }, 180_000);

  it('SIGKILL during a file-target run, then a rerun: no row twice, none missing', async () => {
    const dir = tempDir('qiao-file-kill-');
    const original = rows();
    writeFileSync(join(dir, 'in.jsonl'), original.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'kill.scheme.yaml'), scheme('kill', './in.jsonl', './out.jsonl'));
    const state = join(dir, 'state');
    const out = join(dir, 'out.jsonl');
    const run = startQiao(['run', join(dir, 'kill.scheme.yaml'), '--json', '--state', state]);
    const size = () => {
      try {
        return statSync(out).size;
      } catch {
        return 0;
      }
    };
    await waitFor(() => size() > 200_000, 60_000, 'rows appended');
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    const partial = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(N);

    const rerun = await qiao(['run', join(dir, 'kill.scheme.yaml'), '--json', '--state', state]);
    expect(rerun.code, rerun.stderr).toBe(0);
    const written = jsonl(out);
    const counts = new Map<unknown, number>();
    for (const r of written) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    expect(written).toHaveLength(N);
    expect(new Map(written.map((r) => [r.id, r]))).toEqual(new Map(original.map((r) => [r.id, r])));
  }, 180_000);
});

describe('file target crashes at the worst moments', () => {
  const FAULT = new URL('./fixtures/file-crash.mjs', import.meta.url).href;
  it.each([
    ['after rows were written and fsynced, before their commit', 5],
    ['after a commit, before the run recorded the delivery', 6],
  ])('killed %s: the rerun leaves every row once', async (_, fsyncs) => {
    const dir = tempDir('qiao-file-crash-');
    const original = rows().slice(0, 3000);
    writeFileSync(join(dir, 'in.jsonl'), original.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'crash.scheme.yaml'), scheme('crash', './in.jsonl', './out.jsonl'));
    const state = join(dir, 'state');
    const out = join(dir, 'out.jsonl');
    const crashed = await qiao(['run', join(dir, 'crash.scheme.yaml'), '--json', '--state', state], {
      env: { NODE_OPTIONS: `--import ${FAULT}`, QIAO_TEST_CRASH_AT_FSYNC: String(fsyncs) },
    });
    expect(crashed.signal).toBe('SIGKILL');
    const before = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(original.length);
    const rerun = await qiao(['run', join(dir, 'crash.scheme.yaml'), '--json', '--state', state]);
    expect(rerun.code, rerun.stderr).toBe(0);
    const written = jsonl(out);
    expect(written).toHaveLength(original.length);
    expect(new Map(written.map((r) => [r.id, r]))).toEqual(new Map(original.map((r) => [r.id, r])));
  }, 120_000);
});

describe('okki-to-file template', () => {
  it('exports OKKI customers to JSONL, then appends only the changed ones', async () => {
    const { startOkkiSandbox } = await import('@qiao/connector-okki/sandbox');
    const okki = await startOkkiSandbox({ customers: 60, seed: 5 });
    try {
      const dir = tempDir('qiao-okki-file-');
      const out = join(dir, 'customers.jsonl');
      const env = { OKKI_BASE_URL: okki.url, OKKI_CLIENT_ID: okki.credentials.clientId, OKKI_CLIENT_SECRET: okki.credentials.clientSecret, QIAO_EXPORT_FILE: out, OKKI_REQUESTS_PER_SECOND: '200' };
      const template = new URL('../templates/okki-to-file.scheme.yaml', import.meta.url).pathname;
      const first = await qiao(['run', template, '--json', '--state', join(dir, 'state')], { env });
      expect(first.code, first.stderr).toBe(0);
      const rowsOut = jsonl(out);
      expect(rowsOut).toHaveLength(60);
      expect(new Set(rowsOut.map((r) => r.company_id))).toEqual(new Set(okki.companies().map((c) => String(c.company_id))));
      const changed = okki.companies()[3]!;
      okki.updateCompany(String(changed.company_id), { address: '新地址 1 号' });
      const second = await qiao(['run', template, '--json', '--state', join(dir, 'state')], { env });
      expect(second.code, second.stderr).toBe(0);
      const after = jsonl(out);
      expect(after).toHaveLength(61);
      expect(after.at(-1)).toMatchObject({ company_id: String(changed.company_id), address: '新地址 1 号' });
    } finally {
      await okki.stop();
    }
  }, 120_000);
});
