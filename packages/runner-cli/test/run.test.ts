import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, memoryScheme, qiao, tempDir, writeTemp } from './helpers.js';

const example = join(EXAMPLES, 'memory-example.scheme.yaml');

describe('qiao run (in-memory source and target)', () => {
  it('exits 0 and prints exactly one JSON report on stdout with --json', async () => {
    const state = tempDir();
    const r = await qiao(['run', example, '--json', '--state', state]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['scheme', 'runId', 'status', 'counts', 'startedAt', 'finishedAt', 'durationMs', 'errors']));
    expect(report).toMatchObject({ scheme: 'memory-example', status: 'succeeded', counts: { read: 250, inserted: 250, updated: 0, skipped: 0, failed: 0 }, errors: [] });
    expect(r.stderr).toContain('progress');
  });

  it('exits 1 when some records became dead letters, with the errors grouped and a hint', async () => {
    const r = await qiao(['run', example, '--json', '--state', tempDir()], { env: { QIAO_EXAMPLE_POISON_EVERY: '50' } });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { status: string; counts: { failed: number }; errors: { code: string; count: number; hint: string }[] };
    expect(report.status).toBe('partial');
    expect(report.counts.failed).toBe(5);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'memory.poison', count: 5, hint: expect.stringContaining('qiao queue retry') })]);
  });

  it('exits 2 on an invalid scheme, naming the file and pointer, without a stack trace', async () => {
    const dir = tempDir();
    const file = writeTemp(dir, 'bad.yaml', memoryScheme({ id: 'bad', count: 5, targetFile: join(dir, 't.jsonl') }).replace('stream: records', 'stream: recrods'));
    const r = await qiao(['run', file, '--state', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('/source/stream');
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on a bad flag with a hint', async () => {
    const r = await qiao(['run', example, '--limit', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/limit/);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('shows the stack only with --debug', async () => {
    const r = await qiao(['run', '/nonexistent.yaml', '--debug']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('--dry-run reads and maps without writing or moving state', async () => {
    const state = tempDir();
    const dry = await qiao(['run', example, '--dry-run', '--json', '--state', state]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, wouldWrite: 250 });
    const real = await qiao(['run', example, '--json', '--state', state]);
    expect(JSON.parse(real.stdout)).toMatchObject({ counts: { inserted: 250 } });
  });

  it('--limit reads at most N records', async () => {
    const r = await qiao(['run', example, '--json', '--limit', '10', '--state', tempDir()]);
    expect(JSON.parse(r.stdout)).toMatchObject({ counts: { read: 10, inserted: 10 }, cursor: null });
  });
});

describe('qiao validate and connectors', () => {
  it('validates a scheme, and warns about a literal secret', async () => {
    const ok = await qiao(['validate', example]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('is valid');
    const dir = tempDir();
    const file = writeTemp(dir, 'secret.yaml', memoryScheme({ id: 's', count: 1, targetFile: join(dir, 't') }).replace('    file:', '    token: plain-text-token-1234\n    file:'));
    const warned = await qiao(['validate', file, '--json']);
    expect(warned.code).toBe(0);
    const result = JSON.parse(warned.stdout) as { warnings: { pointer: string }[] };
    expect(result.warnings).toEqual([expect.objectContaining({ pointer: '/target/connection/token' })]);
    expect(warned.stdout + warned.stderr).not.toContain('plain-text-token-1234');
  });

  it('lists connectors and describes one with its labels', async () => {
    const list = await qiao(['connectors', '--json']);
    expect(JSON.parse(list.stdout).map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['okki', 'yonbip']));
    // the internal test connector only when asked for
    expect(JSON.parse(list.stdout).map((c: { id: string }) => c.id)).not.toContain('memory');
    const all = await qiao(['connectors', '--json', '--all']);
    expect(JSON.parse(all.stdout).map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['okki', 'yonbip', 'memory']));
    const d = await qiao(['connectors', 'describe', 'memory']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('records.save');
    expect(d.stdout).toContain('测试记录保存');
    const okki = await qiao(['connectors', 'describe', 'okki']);
    expect(okki.stdout).toContain('客户列表查询(更新列表)');
    expect(okki.stdout).toMatch(/start_index\s+第几页/);
    expect(okki.stdout).toMatch(/count\s+每页记录数/);
    expect(okki.stdout).toMatch(/all\s+查询所有客户/);
    expect(okki.stdout).toContain('/v1/company/info by company_id');
    expect(okki.stdout).toMatch(/clientSecret \*\s+\S+.*secret/);
    const bip = await qiao(['connectors', 'describe', 'yonbip']);
    expect(bip.stdout).toContain('merchant.save — 客户档案保存');
    // the seed tenant's ids are examples only, never defaults; the org is required
    expect(bip.stdout).toMatch(/createOrg \*\s+管理组织id\s+string\s+e\.g\. "1481709712348020742"/);
    expect(bip.stdout).toMatch(/customerClass\s+客户分类id\s+string\s+e\.g\. "1481712151907270669"/);
    expect(bip.stdout).toMatch(/code \*\s+客户编码/);
    expect(bip.stdout).toContain('upsert by code');
    const unknown = await qiao(['connectors', 'describe', 'okk']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean okki');
  });
});
