import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryScheme, qiao, tempDir, writeTemp } from './helpers.js';

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
  }, 120_000);

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
  }, 120_000);

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
  }, 120_000);

  it('a JSON syntax error gives its line and column', async () => {
    const dir = tempDir('qiao-json-');
    const file = writeTemp(dir, 'bad.json', '{\n  "version": 1,\n  "id": "x"\n  "source": {}\n}\n');
    const r = await qiao(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:4:3: expected valid JSON`);
  }, 120_000);

  it('`qiao rnu` suggests run, `--limt` suggests --limit', async () => {
    const r = await qiao(['rnu', 'x.yaml']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('did you mean `qiao run`?');
    const f = await qiao(['run', TEMPLATE, '--limt', '3']);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('--limt: did you mean --limit?');
    expect(f.stderr).not.toMatch(/bug in qiao/);
  }, 120_000);

  it('an empty variable is told from an unset one; a secret is never given a default', async () => {
    const r = await qiao(['validate', TEMPLATE], { env: { ...env, OKKI_CLIENT_ID: '', OKKI_CLIENT_SECRET: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/OKKI_CLIENT_ID to be set to a value, found it set, but empty/);
    expect(r.stderr).toMatch(/OKKI_CLIENT_SECRET to be set, found it unset\n\s+hint: export OKKI_CLIENT_SECRET=… in the environment qiao runs in \(a secret: keep it out of the file\)/);
    expect(r.stderr).not.toContain('${env:OKKI_CLIENT_SECRET:-default}');
    expect(r.stderr).toMatch(/^Error: 2 problems\n/);
  }, 120_000);

  it('`queue retry --id 999` of no such dead letter is exit 2, and re-queues nothing', async () => {
    const dir = tempDir('qiao-retry-');
    const state = join(dir, 'state');
    const file = writeTemp(dir, 'p.yaml', memoryScheme({ id: 'poisoned', count: 20, poisonEvery: 10, targetFile: join(dir, 't.jsonl') }));
    expect((await qiao(['run', file, '--state', state])).code).toBe(1);
    const dead = JSON.parse((await qiao(['queue', 'poisoned', '--status', 'dead', '--state', state, '--json'])).stdout) as { items: { id: number }[] };
    expect(dead.items).toHaveLength(2);
    const r = await qiao(['queue', 'retry', 'poisoned', '--id', '999', '--id', String(dead.items[0]!.id), '--state', state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flag --id: expected the queue id of a dead letter of poisoned, found 999: no such dead letter');
    expect(r.stderr).toContain('nothing was re-queued');
    const after = JSON.parse((await qiao(['queue', 'poisoned', '--state', state, '--json'])).stdout) as { counts: { dead: number } };
    expect(after.counts.dead).toBe(2);
    const ok = await qiao(['queue', 'retry', 'poisoned', '--id', String(dead.items[0]!.id), '--state', state]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('re-queued 1 dead letter(s)');
  }, 120_000);

  it('a full disk says so, exit 3, without the hint for a bug', async () => {
    if (!existsSync('/dev/full')) return; // Linux's always-full device
    const r = await qiao(['init', '/dev/full', '--force']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the disk is full (/dev/full): no space left on the device');
    expect(r.stderr).toContain('free space on that disk');
    expect(r.stderr).not.toMatch(/bug in qiao/);
    expect(r.stderr).not.toMatch(noStack);
  }, 120_000);

  it('a port taken says so for `qiao sandbox` and `qiao serve`, exit 3, without the hint for a bug', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const sandbox = await qiao(['sandbox', '--port-okki', String(port), '--port-yonbip', '0']);
      const dir = tempDir('qiao-port-');
      const serve = await qiao(['serve', '--schemes', dir, '--port', String(port), '--state', join(dir, 'state')]);
      for (const r of [sandbox, serve]) {
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is taken`);
        expect(r.stderr).toContain('choose another port');
        expect(r.stderr).not.toMatch(/bug in qiao/);
        expect(r.stderr).not.toMatch(noStack);
      }
    } finally {
      taken.close();
    }
  }, 120_000);
});
