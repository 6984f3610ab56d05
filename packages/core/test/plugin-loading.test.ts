// How a host finds and loads connector plugins (core's resolveConnector): every place a plugin can be,
// and every way loading one can fail, each saying which case it is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorLoadError, discoverPlugins, resolveConnector, type ConnectorSources } from '../src/index.js';
import { memoryConnector } from '../src/testing/index.js';

let root = '';

/** A hand-written plugin (no imports, so it loads from any folder): one stream `orders`. */
function pluginSource(id: string, manifestPatch = ''): string {
  return `const manifest = {
  id: ${JSON.stringify(id)}, name: 'Shop', version: '1.0.0',
  connection: { type: 'object', properties: {} }, limits: {}, operations: [],
  streams: [{ id: 'orders', label: 'Orders', params: { type: 'object' }, primaryKey: 'id', record: { type: 'object', properties: { id: { type: 'string' } } } }],
};
${manifestPatch}
export default { manifest, register(container) { container.register('qiao.source:orders', { useValue: { async *read() {} } }); } };
`;
}

function pkg(dir: string, json: Record<string, unknown>, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.2.3', type: 'module', exports: './index.js', ...json }));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

const sources = (): ConnectorSources => ({
  builtin: { memory: { package: '@qiao/core (testing)', load: async () => memoryConnector, hidden: true } },
  searchFrom: [join(root, 'project', 'schemes')],
  baseDir: join(root, 'project', 'schemes'),
});

async function failure(ref: string, s: ConnectorSources = sources()): Promise<ConnectorLoadError> {
  try {
    await resolveConnector(ref, s);
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorLoadError);
    return e as ConnectorLoadError;
  }
  throw new Error(`${ref} loaded`);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'qiao-plugins-'));
  const project = join(root, 'project');
  mkdirSync(join(project, 'schemes'), { recursive: true });
  pkg(join(project, 'node_modules/@acme/qiao-connector-shop'), { name: '@acme/qiao-connector-shop', qiao: { connector: 'shop' } }, { 'index.js': pluginSource('shop') });
  pkg(join(project, 'node_modules/left-pad'), { name: 'left-pad' }, { 'index.js': 'export default 1;' });
  pkg(join(project, 'connectors/crm'), { name: 'qiao-connector-crm', qiao: { connector: 'crm' } }, { 'index.js': pluginSource('crm') });
  pkg(join(project, 'local/ledger'), { name: 'ledger-plugin' }, { 'index.js': pluginSource('ledger') });
  pkg(join(project, 'broken/needs-dep'), { name: 'needs-dep' }, { 'index.js': `import 'qiao-missing-dependency-xyz';\n${pluginSource('needsdep')}` });
  pkg(join(project, 'broken/no-export'), { name: 'no-export' }, { 'index.js': 'export const helper = 1;\nexport function connector() {}\n' });
  pkg(join(project, 'broken/bad-manifest'), { name: 'bad-manifest' }, {
    'index.js': pluginSource('bad', "delete manifest.name; manifest.streams[0].primaryKey = 7; manifest.limits = { concurrency: 0 };"),
  });
  pkg(join(project, 'broken/mislabelled'), { name: 'mislabelled', qiao: { connector: 'shop2' } }, { 'index.js': pluginSource('shop3') });
  pkg(join(project, 'broken/two-cores'), { name: 'two-cores' }, {
    'index.js': pluginSource('twocores'),
    'node_modules/@qiao/core/package.json': JSON.stringify({ name: '@qiao/core', version: '0.0.7' }),
  });
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('finding connector plugins', () => {
  it('discovers packages by their "qiao" field, under any name or scope, in node_modules and connectors/ folders', () => {
    const found = discoverPlugins([join(root, 'project', 'schemes')]);
    expect(found.map((f) => [f.id, f.package]).sort()).toEqual([
      ['crm', 'qiao-connector-crm'],
      ['shop', '@acme/qiao-connector-shop'],
    ]);
    expect(found.find((f) => f.id === 'shop')!.foundIn).toBe(`node_modules of ${join(root, 'project')}`);
    expect(found.find((f) => f.id === 'crm')!.foundIn).toBe(`connectors folder of ${join(root, 'project')}`);
  });

  it('resolves a built-in id, an installed plugin by its id or its scoped package name, and a path relative to the scheme', async () => {
    expect((await resolveConnector('memory', sources())).builtin).toBe(true);
    const byId = await resolveConnector('shop', sources());
    expect([byId.id, byId.package, byId.version]).toEqual(['shop', '@acme/qiao-connector-shop', '1.2.3']);
    const byName = await resolveConnector('@acme/qiao-connector-shop', sources());
    expect(byName.plugin.manifest.id).toBe('shop');
    const byPath = await resolveConnector('../local/ledger', sources());
    expect([byPath.id, byPath.foundIn]).toEqual(['ledger', 'path ../local/ledger']);
    expect((await resolveConnector('crm', sources())).package).toBe('qiao-connector-crm');
  });
});

describe('load diagnostics say which case it is', () => {
  it('not installed: names what was searched and what is known', async () => {
    const e = await failure('shopp');
    expect(e.failure).toBe('not_installed');
    expect(e.problems[0]!.found).toMatch(/^not installed: no connector "shopp" in /);
    expect(e.problems[0]!.hint).toBe('did you mean shop?');
    const pkgError = await failure('@acme/qiao-connector-ledger');
    expect(pkgError.problems[0]!.hint).toContain('npm install @acme/qiao-connector-ledger');
    const pathError = await failure('./nowhere');
    expect([pathError.failure, pathError.problems[0]!.found]).toEqual(['not_installed', 'not installed: no such folder']);
  });

  it('installed but failed to load: gives the cause, its own missing dependency', async () => {
    const e = await failure('../broken/needs-dep');
    expect(e.failure).toBe('load_failed');
    expect(e.problems[0]!.found).toContain("failed to load: Cannot find package 'qiao-missing-dependency-xyz'");
    expect(e.problems[0]!.hint).toContain("the connector's own dependency qiao-missing-dependency-xyz is missing");
    expect(e.message).not.toContain('install the package @qiao/connector');
  });

  it('no connector exported: lists what the module does export', async () => {
    const e = await failure('../broken/no-export');
    expect(e.failure).toBe('no_export');
    expect(e.problems[0]!.found).toBe('no connector exported: the module exports connector, helper');
    expect(e.problems[0]!.expected).toContain('defineConnector');
  });

  it('invalid manifest: every problem, each with its pointer', async () => {
    const e = await failure('../broken/bad-manifest');
    expect(e.failure).toBe('invalid_manifest');
    expect(e.problems.map((p) => p.pointer).sort()).toEqual(['/limits/concurrency', '/name', '/streams/0/primaryKey'].sort());
    const mislabelled = await failure('../broken/mislabelled');
    expect([mislabelled.failure, mislabelled.problems[0]!.pointer]).toEqual(['invalid_manifest', '/qiao/connector']);
  });

  it('duplicate SDK: names the second copy of @qiao/core and the one qiao uses', async () => {
    const e = await failure('../broken/two-cores');
    expect(e.failure).toBe('duplicate_sdk');
    expect(e.problems[0]!.found).toBe(`a second copy of @qiao/core (0.0.7) at ${join(root, 'project/broken/two-cores/node_modules/@qiao/core')}`);
    expect(e.problems[0]!.hint).toContain('peerDependency');
  });

  it('each is bad input (exit 2), never an internal error', async () => {
    for (const ref of ['nope', '../broken/needs-dep', '../broken/no-export', '../broken/bad-manifest', '../broken/two-cores']) {
      const e = await failure(ref);
      expect(e.code).toBe('QIAO_SCHEME');
      expect(e.reason).toBe(`connector.${e.failure}`);
    }
  });
});
