import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qiao, tempDir, writeTemp } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const template = readFileSync(TEMPLATE, 'utf8');
/** What the template reads: enough to validate it (validate sends no request). */
const env = {
  OKKI_CLIENT_ID: 'client-id',
  OKKI_CLIENT_SECRET: 'client-secret-value',
  YONBIP_TENANT_ID: 'tenant',
  YONBIP_APP_KEY: 'app-key',
  YONBIP_APP_SECRET: 'app-secret-value',
  YONBIP_CREATE_ORG: '1000000000000000001',
  YONBIP_CUSTOMER_CLASS: '1000000000000000002',
};
const noStack = /\n\s+at .+:\d+:\d+/;

describe('mistakes caught before any request', () => {
  it('init x.json writes JSON that parses and validates; init x.yaml writes the YAML template', async () => {
    const dir = tempDir('qiao-init-');
    const json = join(dir, 'x.json');
    const r = await qiao(['init', json, '--template', 'okki-to-yonbip']);
    expect(r.code, r.stderr).toBe(0);
    const parsed = JSON.parse(readFileSync(json, 'utf8')) as { id: string; mapping: Record<string, unknown> };
    expect(parsed.id).toBe('okki-company-to-yonbip-merchant');
    expect(parsed.mapping.website).toBe("homepage != '' ? homepage");
    const v = await qiao(['validate', json], { env });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain('is valid');

    const yaml = join(dir, 'x.scheme.yaml');
    expect((await qiao(['init', yaml])).code).toBe(0);
    expect(readFileSync(yaml, 'utf8')).toBe(template); // comments kept
  });

  it('a typo in a source field (hompage) is exit 2 with "did you mean homepage", naming file, line and pointer', async () => {
    const dir = tempDir('qiao-typo-');
    const file = writeTemp(dir, 'typo.yaml', template.replace(`website: "homepage != '' ? homepage"`, `website: "hompage != '' ? hompage"`));
    const r = await qiao(['validate', file], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:${template.split('\n').findIndex((l) => l.includes('website: "homepage')) + 1} at /mapping/website`);
    expect(r.stderr).toContain('found "hompage"');
    expect(r.stderr).toContain('did you mean homepage?');
    expect(r.stderr).toMatch(/1 problem\b/);
    expect(r.stderr).not.toMatch(noStack);
    // a typo inside an array's items (the contacts), read through a variable
    const inner = writeTemp(dir, 'inner.yaml', template.replace(`$c.email != '' ? $c.email`, `$c.emial != '' ? $c.emial`));
    const r2 = await qiao(['validate', inner], { env });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/okki company record under customers, found "emial"\n\s+hint: did you mean email\?/);
  });

  it('a YAML indentation error is one problem with line and column, and says which line sets the block', async () => {
    const dir = tempDir('qiao-yaml-');
    const lines = template.split('\n');
    const at = lines.findIndex((l) => l === '  operation: merchant.save');
    lines[at] = ' operation: merchant.save';
    const file = writeTemp(dir, 'indent.yaml', lines.join('\n'));
    const r = await qiao(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: 1 problem\n/);
    expect(r.stderr).toContain(`${file}:${at + 1}:2: expected valid YAML`);
    expect(r.stderr).toContain(`line ${at} starts this block at column 3`);

    // a key indented one space too far under a key that has a value
    const deeper = template.replace('  stream: company\n', '   stream: company\n');
    const line = deeper.split('\n').findIndex((l) => l === '   stream: company') + 1;
    const r2 = await qiao(['validate', writeTemp(dir, 'deeper.yaml', deeper)]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^Error: 1 problem\n/);
    expect(r2.stderr).toContain(`deeper.yaml:${line}:4: expected valid YAML`);
    expect(r2.stderr).toContain(`start it at column 3 like that line`);
  });

  it('a JSON syntax error gives its line and column', async () => {
    const dir = tempDir('qiao-json-');
    const file = writeTemp(dir, 'bad.json', '{\n  "version": 1,\n  "id": "x"\n  "source": {}\n}\n');
    const r = await qiao(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:4:3: expected valid JSON`);
  });

  it('`qiao rnu` suggests run, `--limt` suggests --limit', async () => {
    const r = await qiao(['rnu', 'x.yaml']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('did you mean `qiao run`?');
    const f = await qiao(['run', TEMPLATE, '--limt', '3']);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('--limt: did you mean --limit?');
    expect(f.stderr).not.toMatch(/bug in qiao/);
  });
});
