import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, qiao, tempDir, writeTemp } from './helpers.js';

describe('templates, init and demo', () => {
  it('lists the built-in template and those of a shared folder', async () => {
    const shared = tempDir('qiao-shared-');
    writeTemp(shared, 'team-memory.scheme.yaml', readFileSync(join(EXAMPLES, 'memory-example.scheme.yaml'), 'utf8'));
    writeTemp(shared, 'notes.yaml', 'just: notes\n');
    const r = await qiao(['templates', '--json'], { env: { QIAO_TEMPLATES: shared } });
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; source: string; target: string; origin: string }[];
    expect(list.map((t) => t.name)).toEqual(['team-memory', 'okki-rest-to-yonbip', 'okki-to-file', 'okki-to-yonbip']);
    expect(list[1]).toMatchObject({ source: 'rest/company', target: 'yonbip/merchant.save', origin: 'built-in' });
    expect(list[2]).toMatchObject({ source: 'okki/company', target: 'file/records.append', origin: 'built-in' });
    expect(list[3]).toMatchObject({ source: 'okki/company', target: 'yonbip/merchant.save', origin: 'built-in' });
    const text = await qiao(['templates', '--templates', shared]);
    expect(text.stdout).toContain('okki-to-yonbip');
    expect(text.stdout).toContain('team-memory');
  });

  it('init writes the template, lists the variables to set, and never overwrites without --force', async () => {
    const dir = tempDir();
    const file = join(dir, 'okki.scheme.yaml');
    const r = await qiao(['init', file, '--template', 'okki-to-yonbip']);
    expect(r.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(r.stderr).toMatch(/OKKI_CLIENT_ID[\s\S]*YONBIP_APP_SECRET/);
    const again = await qiao(['init', file, '--template', 'okki-to-yonbip']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await qiao(['init', file, '--template', 'okki-to-yonbip', '--force'])).code).toBe(0);
    const unknown = await qiao(['init', join(dir, 'x.yaml'), '--template', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('okki-to-yonbip');
  });

  it('init --from starts from any shared scheme file', async () => {
    const dir = tempDir();
    const file = join(dir, 'copy.yaml');
    const r = await qiao(['init', file, '--from', join(EXAMPLES, 'memory-example.scheme.yaml'), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { variables: { name: string; default?: string }[] };
    expect(out.variables.map((v) => v.name)).toContain('QIAO_EXAMPLE_COUNT');
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(EXAMPLES, 'memory-example.scheme.yaml'), 'utf8'));
  });

  it('demo runs the template end to end on the simulators', async () => {
    const r = await qiao(['demo', '--customers', '120', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { customersInYonbip: number; runs: { counts: { inserted: number; updated: number } }[] };
    expect(out.customersInYonbip).toBe(123);
    expect(out.runs[0]!.counts.inserted).toBe(120);
    expect(out.runs[1]!.counts).toMatchObject({ inserted: 3, updated: 5 });
  });
});
