import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import { InputError, type Problem } from '../errors/errors.js';
import { loadManifest } from '../manifest/load-manifest.js';
import { closest } from '../scheme/validate-scheme.js';
import { discoverPlugins, findInstalled, isDirectory, isPackageName, isPathReference, PLUGIN_FIELD, readPackage, searchFolders } from './discover.js';
import { duplicateSdkProblems, sdkProblems } from './duplicate-sdk.js';

/**
 * Why a connector could not be loaded, one case each:
 * - `not_installed`: no built-in connector, installed package or folder answers to the name;
 * - `load_failed`: the package is there but importing it threw (its own dependency is missing, a syntax error…);
 * - `no_export`: it imported, but exports no connector (no default export made with `defineConnector`);
 * - `invalid_manifest`: its manifest (or its definition) does not validate;
 * - `duplicate_sdk`: it would use a second copy of `@qiao/core` or `tsyringe`.
 */
export type ConnectorLoadFailure = 'not_installed' | 'load_failed' | 'no_export' | 'invalid_manifest' | 'duplicate_sdk';

/** A connector that could not be loaded: bad input (exit 2), with the case in `failure` and every problem. */
export class ConnectorLoadError extends InputError {
  constructor(
    readonly failure: ConnectorLoadFailure,
    problems: Problem[],
    options: { cause?: unknown; system?: string } = {},
  ) {
    super(problems, { ...options, reason: `connector.${failure}` });
  }
}

/** A connector as the host found it: the plugin and where it came from. */
export interface LoadedConnector {
  id: string;
  plugin: ConnectorPlugin;
  /** The npm package (`@qiao/connector-okki`, `@acme/qiao-connector-shop`). */
  package: string;
  version: string;
  /** `built-in`, `node_modules of /srv/acme`, `path ./connectors/shop`, … */
  foundIn: string;
  /** The package folder, when known. */
  dir?: string | undefined;
  builtin: boolean;
}

/** A connector shipped with the host: loaded by a function, listed under its package name. */
export interface BuiltinConnector {
  package: string;
  load(): Promise<ConnectorPlugin>;
  /** Left out of listings unless asked for (the `memory` test connector). */
  hidden?: boolean;
}

export interface ConnectorSources {
  /** Connectors shipped with the host, by id. */
  builtin: Record<string, BuiltinConnector>;
  /** Folders plugins are searched from, nearest first (the scheme's folder, the working directory, the host's folder). */
  searchFrom: string[];
  /** The folder a path reference is relative to (the scheme's folder). */
  baseDir: string;
}

/**
 * Resolves a scheme's `connector:` to a plugin. In this order: a path to a package folder (`./x`,
 * `../x`, `/x`, relative to `baseDir`); a built-in id; the id a discovered package declares in its
 * `qiao.connector` field; an installed package by name (any scope); `@qiao/connector-<id>`.
 * @throws ConnectorLoadError saying which case it is, with every problem
 */
export async function resolveConnector(ref: string, sources: ConnectorSources): Promise<LoadedConnector> {
  if (isPathReference(ref)) {
    const dir = resolvePath(sources.baseDir, ref.replace(/^file:/, ''));
    if (!isDirectory(dir) || !existsSync(join(dir, 'package.json'))) {
      throw new ConnectorLoadError('not_installed', [
        {
          file: dir,
          pointer: '',
          expected: `connector ${JSON.stringify(ref)}: a connector package folder (with a package.json)`,
          found: `not installed: ${isDirectory(dir) ? 'the folder has no package.json' : 'no such folder'}`,
          hint: `paths are relative to the scheme's folder (${sources.baseDir}); create one with \`qiao connectors new <id>\``,
        },
      ]);
    }
    return loadPackageFolder(dir, `path ${ref}`);
  }
  const builtin = sources.builtin[ref];
  if (builtin) {
    let plugin: ConnectorPlugin;
    try {
      plugin = await builtin.load();
    } catch (e) {
      throw loadFailure(e, builtin.package, builtin.package);
    }
    return { id: ref, plugin, package: builtin.package, version: plugin.manifest.version, foundIn: 'built in', builtin: true };
  }
  const found = discoverPlugins(sources.searchFrom);
  const byId = found.find((f) => f.id === ref);
  if (byId) return loadPackageFolder(byId.dir, byId.foundIn);
  const candidates = isPackageName(ref) ? (ref.includes('/') || ref.includes('connector') ? [ref] : [ref, `@qiao/connector-${ref}`]) : [];
  for (const name of candidates) {
    const dir = findInstalled(name, sources.searchFrom);
    if (dir) return loadPackageFolder(dir, `node_modules (${name})`);
  }
  const known = [...Object.entries(sources.builtin).filter(([, b]) => !b.hidden).map(([id]) => id), ...found.map((f) => f.id)];
  const guess = closest(ref, known);
  throw new ConnectorLoadError('not_installed', [
    {
      file: `connector ${JSON.stringify(ref)}`,
      pointer: '',
      expected: `a built-in connector (${Object.keys(sources.builtin).filter((id) => !sources.builtin[id]!.hidden).join(', ')}), an installed connector package${found.length ? ` (${found.map((f) => `${f.id} from ${f.package}`).join(', ')})` : ''} or a path to a package folder`,
      found: `not installed: no connector ${JSON.stringify(ref)} in ${searchFolders(sources.searchFrom).slice(0, 4).join(', ')}${searchFolders(sources.searchFrom).length > 4 ? ', …' : ''}`,
      hint: guess
        ? `did you mean ${guess}?`
        : isPackageName(ref) && (ref.includes('/') || ref.includes('connector'))
          ? `npm install ${ref} in the project (a connector package says "${PLUGIN_FIELD}": { "connector": "<id>" } in its package.json)`
          : `install a package whose package.json says "${PLUGIN_FIELD}": { "connector": "${ref}" } (npm install <package>), or name its folder: connector: ./connectors/${ref}`,
    },
  ]);
}

/**
 * Imports the connector package in `dir` and checks it: a second copy of core or tsyringe, its
 * default export, its manifest.
 * @throws ConnectorLoadError saying which case it is
 */
export async function loadPackageFolder(dir: string, foundIn: string): Promise<LoadedConnector> {
  const info = readPackage(dir);
  const label = info?.name || dir;
  const duplicates = duplicateSdkProblems(dir, label);
  if (duplicates.length) throw new ConnectorLoadError('duplicate_sdk', duplicates, { system: label });
  const entry = entryOf(dir, info?.json ?? {});
  if (!entry || !existsSync(entry)) {
    throw new ConnectorLoadError('load_failed', [
      {
        file: join(dir, 'package.json'),
        pointer: info?.json.exports ? '/exports' : '/main',
        expected: `connector ${label}: an entry module to import`,
        found: `failed to load: ${entry ? `${entry} does not exist` : 'no "exports" or "main"'}`,
        hint: entry ? 'build the package (npm run build), or point "exports" at the module that exports the connector' : 'add "exports": "./src/index.js" (the module whose default export is the connector)',
      },
    ]);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (e) {
    throw loadFailure(e, label, entry);
  }
  const plugin = pluginOf(mod);
  if (!plugin) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule').sort();
    throw new ConnectorLoadError('no_export', [
      {
        file: entry,
        pointer: '',
        expected: `connector ${label}: a default export made with defineConnector (export default defineConnector({ manifest, streams, operations, check }))`,
        found: `no connector exported: ${names.length ? `the module exports ${names.map((n) => (n === 'default' ? `default (${describe(mod.default)})` : n)).join(', ')}` : 'the module exports nothing'}`,
      },
    ]);
  }
  const sdk = sdkProblems(plugin, label);
  if (sdk.length) throw new ConnectorLoadError('duplicate_sdk', sdk, { system: label });
  try {
    loadManifest(structuredClone(plugin.manifest), `${label} manifest`);
  } catch (e) {
    if (e instanceof InputError) throw new ConnectorLoadError('invalid_manifest', e.problems.map((p) => ({ ...p, found: `invalid manifest: ${p.found ?? 'missing'}` })), { system: label });
    throw e;
  }
  if (info?.connector && info.connector !== plugin.manifest.id) {
    throw new ConnectorLoadError('invalid_manifest', [
      {
        file: join(dir, 'package.json'),
        pointer: `/${PLUGIN_FIELD}/connector`,
        expected: `the manifest's id (${JSON.stringify(plugin.manifest.id)})`,
        found: `invalid manifest: ${JSON.stringify(info.connector)}`,
        hint: 'the package.json field and the manifest id must name the connector alike',
      },
    ]);
  }
  return { id: plugin.manifest.id, plugin, package: label, version: info?.version || plugin.manifest.version, foundIn, dir, builtin: false };
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return `an object with ${Object.keys(x).join(', ') || 'no keys'}`;
  return typeof x;
}

function isPlugin(x: unknown): x is ConnectorPlugin {
  return typeof x === 'object' && x !== null && typeof (x as ConnectorPlugin).register === 'function' && typeof (x as ConnectorPlugin).manifest === 'object';
}

/** The connector a module exports: its default export, a CommonJS module's default, or a `plugin` export. */
function pluginOf(mod: Record<string, unknown>): ConnectorPlugin | undefined {
  const d = mod.default as Record<string, unknown> | undefined;
  for (const c of [d, d?.default, mod.plugin]) if (isPlugin(c)) return c;
  return undefined;
}

/** The module `import(dir)` would load: `exports["."]` (import/node/default), then `main`, then index.js. */
function entryOf(dir: string, json: Record<string, unknown>): string | undefined {
  const pick = (x: unknown): string | undefined => {
    if (typeof x === 'string') return x;
    if (Array.isArray(x)) return pick(x[0]);
    if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if ('.' in o) return pick(o['.']);
      for (const k of ['import', 'node', 'default']) if (k in o) return pick(o[k]);
    }
    return undefined;
  };
  const rel = pick(json.exports) ?? (typeof json.main === 'string' ? json.main : 'index.js');
  return rel ? join(dir, rel) : undefined;
}

/** The problem for an import that threw: a missing dependency of the plugin, a broken manifest, or else its message. */
function loadFailure(e: unknown, label: string, entry: string): ConnectorLoadError {
  const err = e as NodeJS.ErrnoException & { problems?: Problem[] };
  if (Array.isArray(err.problems)) {
    // defineConnector or loadManifestFile threw at import: the manifest (or definition) is invalid
    return new ConnectorLoadError('invalid_manifest', err.problems.map((p) => ({ ...p, found: `invalid manifest: ${p.found ?? 'missing'}` })), { cause: e, system: label });
  }
  const message = String(err?.message ?? e).split('\n')[0]!;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  return new ConnectorLoadError(
    'load_failed',
    [
      {
        file: entry,
        pointer: '',
        expected: `connector ${label} to import`,
        found: `failed to load: ${message}`,
        hint:
          missing && !/^[./\\]|^[A-Za-z]:|^file:/.test(missing)
            ? `the connector's own dependency ${missing} is missing: add it to the connector's dependencies and run npm install (in the project, or in the connector's folder)`
            : missing
              ? 'a file of the connector is missing: build it (npm run build) or fix the import'
              : 'fix the error in the connector package; run again with --debug for its stack',
      },
    ],
    { cause: e, system: label },
  );
}
