// qiao installed the way a user outside this repository installs it: `npm run pack` writes the tarballs,
// `npm install` puts them in an empty folder under the system's temp directory, and `npx qiao` runs there.
// Third-party packages come from the npm registry (npm's cache makes a second run quick).
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
let project = '';

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, NODE_ENV: 'production', FORCE_COLOR: '0', NO_COLOR: '1', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  const packed = JSON.parse(ok(sh(process.execPath, ['scripts/pack.mjs', '--json'], repo), 'npm run pack')) as { packages: Array<{ name: string; file: string }> };
  project = mkdtempSync(join(tmpdir(), 'qiao-installed-'));
  expect(project.startsWith(repo)).toBe(false);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'acme-integrations', version: '1.0.0', private: true, type: 'module' }, null, 2));
  ok(sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.packages.map((p) => p.file)], project, 540_000), 'npm install of the tarballs');
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('qiao installed from the packed tarballs, outside the repository', () => {
  it('installs every package from its tarball, with @qiao/core once', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).sort()).toEqual(expect.arrayContaining(['@qiao/connector-okki', '@qiao/connector-yonbip', '@qiao/core', '@qiao/runner-cli']));
    for (const name of Object.keys(pkg.dependencies)) expect(pkg.dependencies[name]).toMatch(/^file:/);
    // a second copy of core would give plugins a container of their own
    expect(existsSync(join(project, 'node_modules/@qiao/runner-cli/node_modules/@qiao/core'))).toBe(false);
    expect(existsSync(join(project, 'node_modules/@qiao/connector-okki/node_modules/@qiao/core'))).toBe(false);
  });

  it('npx qiao --version names the installed package', () => {
    const out = ok(sh('npx', ['--no-install', 'qiao', '--version'], project), 'npx qiao --version');
    expect(out).toMatch(/@qiao\/runner-cli\/0\.1\.0/);
  });

  it('npx qiao demo runs the OKKI → YonBIP template on the simulators and ends with YonBIP equal to OKKI', () => {
    const out = ok(sh('npx', ['--no-install', 'qiao', 'demo', '--json'], project), 'npx qiao demo --json');
    const demo = JSON.parse(out) as { customersInYonbip: number; customersInOkki?: number; runs: Array<{ status: string; counts: { read: number; inserted: number; updated: number; failed: number } }> };
    expect(demo.runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(demo.runs[0]!.counts.inserted).toBe(300);
    expect(demo.runs[0]!.counts.failed).toBe(0);
    expect(demo.customersInYonbip).toBe(303);
  });

  it('npx qiao init writes the template into the project, and validate accepts it there', () => {
    ok(sh('npx', ['--no-install', 'qiao', 'init', 'okki.scheme.yaml', '--template', 'okki-to-yonbip'], project), 'npx qiao init');
    expect(readFileSync(join(project, 'okki.scheme.yaml'), 'utf8')).toContain('connector: okki');
    const vars = { OKKI_CLIENT_ID: 'id', OKKI_CLIENT_SECRET: 's', YONBIP_APP_KEY: 'k', YONBIP_APP_SECRET: 's', YONBIP_CREATE_ORG: '1', YONBIP_CUSTOMER_CLASS: '2', YONBIP_TENANT_ID: 't' };
    const v = spawnSync('npx', ['--no-install', 'qiao', 'validate', 'okki.scheme.yaml'], { cwd: project, encoding: 'utf8', env: { ...process.env, ...vars, NO_COLOR: '1' } });
    expect(v.status, v.stderr).toBe(0);
    const r = sh('npx', ['--no-install', 'qiao', 'templates', '--json'], project);
    const templates = JSON.parse(ok(r, 'npx qiao templates --json')) as Array<{ name: string; file: string }>;
    expect(templates).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'okki-to-yonbip' })]));
    // the templates come from the installed package, not from a checkout
    for (const t of templates) expect(t.file.startsWith(join(project, 'node_modules'))).toBe(true);
  });
});

describe('a connector plugin written outside the repository, on the installed qiao', () => {
  // the plugin's simulator runs as its own process (npm run simulator), as a user starts it: the
  // spawnSync calls below block this process
  let sim: { url: string; child: ChildProcess } | undefined;
  const env = () => ({ SHOP_BASE_URL: sim!.url });
  const run = (args: string[], what: string) => {
    const r = spawnSync('npx', ['--no-install', 'qiao', ...args], { cwd: project, encoding: 'utf8', timeout: 180_000, env: { ...process.env, ...env(), NODE_ENV: 'production', NO_COLOR: '1', FORCE_COLOR: '0' } });
    return ok(r, what);
  };
  const contacts = async () => {
    const res = await fetch(`${sim!.url}/contacts`, { headers: { 'x-api-key': 'demo-key' } });
    return ((await res.json()) as { total: number }).total;
  };

  afterAll(() => {
    sim?.child.kill();
  });

  it('npx qiao connectors new shop writes a package whose npm test passes on the first run', () => {
    ok(sh('npx', ['--no-install', 'qiao', 'connectors', 'new', 'shop'], project), 'npx qiao connectors new shop');
    const dir = join(project, 'connectors/shop');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { $schema: string };
    // $schema points at the installed @qiao/core, so editors complete the manifest
    expect(join(dir, manifest.$schema)).toBe(join(project, 'node_modules/@qiao/core/schemas/connector-manifest.schema.json'));
    expect(existsSync(join(dir, manifest.$schema))).toBe(true);
    const test = ok(sh('npm', ['test'], dir, 180_000), 'npm test in connectors/shop');
    expect(test).toMatch(/# pass 9\b/);
    expect(test).toMatch(/# fail 0\b/);
  }, 240_000);

  it('npx qiao connectors lists shop, with its package and where it was found', () => {
    const list = JSON.parse(ok(sh('npx', ['--no-install', 'qiao', 'connectors', '--json'], project), 'npx qiao connectors --json')) as Array<{ id: string; package: string; foundIn: string }>;
    expect(list.find((c) => c.id === 'shop')).toMatchObject({ package: 'qiao-connector-shop', foundIn: `connectors folder of ${project}` });
    expect(list.map((c) => c.id)).toEqual(expect.arrayContaining(['okki', 'yonbip', 'shop']));
  });

  it('npx qiao validate and run the example scheme against its simulator, exit 0', async () => {
    const child = spawn(process.execPath, ['src/simulator.js'], { cwd: join(project, 'connectors/shop'), env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += String(d);
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the simulator exited ${code}`)));
    });
    sim = { url, child };
    run(['validate', 'connectors/shop/examples/shop.scheme.yaml'], 'npx qiao validate of the example scheme');
    const report = JSON.parse(run(['run', 'connectors/shop/examples/shop.scheme.yaml', '--json'], 'npx qiao run of the example scheme')) as { status: string; counts: { inserted: number } };
    expect(report.status).toBe('succeeded');
    expect(report.counts.inserted).toBe(25);
    expect(await contacts()).toBe(25);
  }, 240_000);

  it('a scheme naming a scoped package (@acme/qiao-connector-shop) and one naming a relative path both run', async () => {
    ok(sh('npx', ['--no-install', 'qiao', 'connectors', 'new', 'acme-shop', '--package', '@acme/qiao-connector-shop', '--dir', 'vendor/acme-shop'], project), 'npx qiao connectors new acme-shop');
    ok(sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', './vendor/acme-shop'], project, 300_000), 'npm install ./vendor/acme-shop');
    expect(existsSync(join(project, 'node_modules/@acme/qiao-connector-shop/package.json'))).toBe(true);
    mkdirSync(join(project, 'schemes'), { recursive: true });
    const example = readFileSync(join(project, 'vendor/acme-shop/examples/acme-shop.scheme.yaml'), 'utf8');
    writeFileSync(join(project, 'schemes/scoped.scheme.yaml'), example.replace(/connector: acme-shop/g, 'connector: "@acme/qiao-connector-shop"').replace('id: acme-shop-example', 'id: scoped'));
    const scoped = JSON.parse(run(['run', 'schemes/scoped.scheme.yaml', '--json'], 'npx qiao run of the scheme naming @acme/qiao-connector-shop')) as { status: string; counts: { read: number; failed: number } };
    expect(scoped).toMatchObject({ status: 'succeeded', counts: { read: 25, failed: 0 } });
    const shop = readFileSync(join(project, 'connectors/shop/examples/shop.scheme.yaml'), 'utf8');
    writeFileSync(join(project, 'schemes/by-path.scheme.yaml'), shop.replace(/connector: shop/g, 'connector: ../connectors/shop').replace('id: shop-example', 'id: by-path'));
    const byPath = JSON.parse(run(['run', 'schemes/by-path.scheme.yaml', '--json'], 'npx qiao run of the scheme naming ../connectors/shop')) as { status: string; counts: { read: number; failed: number } };
    expect(byPath).toMatchObject({ status: 'succeeded', counts: { read: 25, failed: 0 } });
    // every run upserts by email: the same 25 contacts, never a second copy
    expect(await contacts()).toBe(25);
    const list = JSON.parse(run(['connectors', '--json'], 'npx qiao connectors --json')) as Array<{ id: string; package: string }>;
    expect(list.find((c) => c.id === 'acme-shop')).toMatchObject({ package: '@acme/qiao-connector-shop' });
  }, 400_000);
});
