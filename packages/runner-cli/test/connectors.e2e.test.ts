// Connector plugins through the built `qiao` binary, in a project folder inside this repository (so the
// workspace's @qiao/core is the installed one): `connectors new`, its own tests, discovery and listing,
// schemes naming a plugin by id or by path, and the load errors of broken plugins (exit 2, no "bug" hint).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qiao } from './helpers.js';

const repoTmp = fileURLToPath(new URL('../../../tmp/', import.meta.url));
let project = '';
let sim: { url: string; close(): Promise<void> } | undefined;

beforeAll(() => {
  mkdirSync(repoTmp, { recursive: true });
  project = mkdtempSync(join(repoTmp, 'plugins-'));
});

afterAll(async () => {
  await sim?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('qiao connectors new, and the plugin it writes', () => {
  it('writes a package whose own tests pass on the first run (node --test, the behavioural kit)', async () => {
    const r = await qiao(['connectors', 'new', 'shop', '--json'], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    const written = JSON.parse(r.stdout) as { dir: string; files: string[] };
    expect(written.dir).toBe(join(project, 'connectors/shop'));
    expect(written.files).toEqual(expect.arrayContaining(['package.json', 'manifest.json', 'src/index.js', 'src/simulator.js', 'test/connector.test.js', 'README.md', 'examples/shop.scheme.yaml']));
    const pkg = JSON.parse(readFileSync(join(written.dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg.qiao).toEqual({ connector: 'shop' });
    expect(pkg.peerDependencies).toEqual({ '@qiao/core': '^0.1.0' });
    const manifest = JSON.parse(readFileSync(join(written.dir, 'manifest.json'), 'utf8')) as { $schema: string };
    expect(readFileSync(join(written.dir, manifest.$schema), 'utf8')).toContain('qiao connector manifest');
    const test = spawnSync('npm', ['test'], { cwd: written.dir, encoding: 'utf8', timeout: 120_000 });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/# pass 9\b/);
  }, 180_000);

  it('writes a source-only and a target-only package whose tests pass too', async () => {
    for (const side of ['--source', '--target']) {
      const dir = join(project, `only${side}`);
      const r = await qiao(['connectors', 'new', `only${side.slice(2)}`, side, '--dir', dir], { cwd: project });
      expect(r.code, r.stderr).toBe(0);
      const test = spawnSync('npm', ['test'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      expect(test.status, test.stdout + test.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { streams: unknown[]; operations: unknown[] };
      expect([manifest.streams.length, manifest.operations.length]).toEqual(side === '--source' ? [1, 0] : [0, 1]);
    }
  }, 240_000);

  it('refuses a bad id and a folder that holds files (exit 2)', async () => {
    const bad = await qiao(['connectors', 'new', 'Shop!'], { cwd: project });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('argument id');
    const again = await qiao(['connectors', 'new', 'shop'], { cwd: project });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('holds files');
    expect(again.stderr).not.toContain('bug in qiao');
  });

  it('lists the new plugin with package, version and where it was found; memory only with --all', async () => {
    const r = await qiao(['connectors', '--json'], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ id: string; package: string; version: string; foundIn: string; builtin: boolean }>;
    expect(list.find((c) => c.id === 'shop')).toMatchObject({ package: 'qiao-connector-shop', version: '0.1.0', builtin: false, foundIn: `connectors folder of ${project}` });
    expect(list.find((c) => c.id === 'okki')).toMatchObject({ package: '@qiao/connector-okki', builtin: true, foundIn: 'built in' });
    expect(list.map((c) => c.id)).not.toContain('memory');
    const all = JSON.parse((await qiao(['connectors', '--json', '--all'], { cwd: project })).stdout) as Array<{ id: string }>;
    expect(all.map((c) => c.id)).toContain('memory');
    const d = await qiao(['connectors', 'describe', 'shop'], { cwd: project });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('Package: qiao-connector-shop@0.1.0');
    expect(d.stdout).toContain('Operation contacts.save — Save a contact');
  });

  it('validates and runs the example scheme against the simulator, and a scheme naming the plugin by path', async () => {
    const mod = (await import(join(project, 'connectors/shop/src/simulator.js'))) as { startSimulator(o: { port: number }): Promise<{ url: string; close(): Promise<void>; contacts: Map<string, unknown> }> };
    const s = await mod.startSimulator({ port: 0 });
    sim = s;
    const env = { SHOP_BASE_URL: s.url };
    const scheme = join(project, 'connectors/shop/examples/shop.scheme.yaml');
    const v = await qiao(['validate', scheme], { cwd: project, env });
    expect(v.code, v.stderr).toBe(0);
    const run = await qiao(['run', scheme, '--json', '--state', join(project, 'state-a')], { cwd: project, env });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { counts: { inserted: number } }).counts.inserted).toBe(25);
    expect(s.contacts.size).toBe(25);
    // the same scheme, with the plugin named by a path relative to the scheme file
    const byPath = join(project, 'schemes/by-path.scheme.yaml');
    mkdirSync(join(project, 'schemes'), { recursive: true });
    writeFileSync(byPath, readFileSync(scheme, 'utf8').replace(/connector: shop/g, 'connector: ../connectors/shop').replace('id: shop-example', 'id: shop-by-path'));
    const r2 = await qiao(['run', byPath, '--json', '--state', join(project, 'state-b')], { cwd: '/', env });
    expect(r2.code, r2.stderr).toBe(0);
    expect((JSON.parse(r2.stdout) as { counts: { read: number; failed: number } }).counts).toMatchObject({ read: 25, failed: 0 });
    expect(s.contacts.size).toBe(25); // found by email, not inserted twice
  }, 120_000);

  it('qiao connectors test runs the kit on the plugin by path, and fails a copy that forgets to look up before inserting (exit 1)', async () => {
    const r = await qiao(['connectors', 'test', './connectors/shop', '--json'], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ connector: 'shop', passed: 9, failed: 0 });
    cpSync(join(project, 'connectors/shop'), join(project, 'broken-shop'), { recursive: true });
    const op = join(project, 'broken-shop/src/contacts-save.operation.js');
    const text = readFileSync(op, 'utf8');
    const broken = text.replace(/const id = ctx\.knownId \?\? \(await[^;]*;/, 'const id = ctx.knownId;');
    expect(broken).not.toBe(text);
    writeFileSync(op, broken);
    const b = await qiao(['connectors', 'test', './broken-shop'], { cwd: project });
    expect(b.code, b.stderr).toBe(1);
    expect(b.stdout).toContain('✗ shop: operation contacts.save: a write retried as maybe-written finds its record instead of writing a second');
    expect(b.stdout).toContain('email already used');
    expect(b.stdout).toContain('1 of 9 checks failed');
  }, 180_000);
});

describe('load errors of broken plugins, through the CLI', () => {
  const scheme = (connector: string) => `version: 1\nid: broken\nsource:\n  connector: ${JSON.stringify(connector)}\n  stream: customers\ntarget:\n  connector: memory\n  operation: records.save\nmapping:\n  code: id\n  name.zh_CN: name\n`;
  const plugin = (dir: string, json: Record<string, unknown>, index: string) => {
    mkdirSync(join(project, dir), { recursive: true });
    writeFileSync(join(project, dir, 'package.json'), JSON.stringify({ name: dir.replace(/\W/g, '-'), version: '1.0.0', type: 'module', exports: './index.js', ...json }));
    writeFileSync(join(project, dir, 'index.js'), index);
  };

  it('says which case it is, exits 2, and never calls it a bug in qiao', async () => {
    plugin('broken/missing-dep', {}, "import 'qiao-no-such-dependency';\nexport default {};\n");
    plugin('broken/no-export', {}, 'export const shop = 1;\n');
    plugin('broken/bad-manifest', {}, "import { defineConnector } from '@qiao/core';\nexport default defineConnector({ manifest: { id: 'x', name: 'x', version: '1', connection: {}, limits: {}, streams: [], operations: [] } });\n");
    const cases: Array<[string, RegExp]> = [
      ['no-such-connector', /not installed: no connector "no-such-connector"/],
      ['@acme/qiao-connector-missing', /npm install @acme\/qiao-connector-missing/],
      ['../broken/missing-dep', /failed to load: Cannot find package 'qiao-no-such-dependency'[\s\S]*own dependency qiao-no-such-dependency is missing/],
      ['../broken/no-export', /no connector exported: the module exports shop/],
      ['../broken/bad-manifest', /at \/version: [^\n]*invalid manifest[\s\S]*at \/connection/],
    ];
    mkdirSync(join(project, 'schemes'), { recursive: true });
    for (const [ref, expected] of cases) {
      const file = join(project, 'schemes', `broken-${ref.replace(/\W/g, '')}.scheme.yaml`);
      writeFileSync(file, scheme(ref));
      const r = await qiao(['validate', file], { cwd: project });
      expect(r.code, `${ref}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).toContain('/source/connector');
      expect(r.stderr).not.toContain('bug in qiao');
    }
    const d = await qiao(['connectors', 'describe', './broken/no-export'], { cwd: project });
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('no connector exported');
  }, 120_000);
});
