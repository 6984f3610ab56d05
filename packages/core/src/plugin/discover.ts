import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The package.json field that makes a package a qiao connector plugin, found wherever it is installed
 * and whatever its name or scope:
 *
 * ```json
 * { "name": "@acme/qiao-connector-shop", "qiao": { "connector": "shop" } }
 * ```
 *
 * `connector` is the id schemes use (`connector: shop`); it must equal the manifest's `id`.
 */
export const PLUGIN_FIELD = 'qiao';

/** What discovery reads of a package.json. */
export interface PackageInfo {
  name: string;
  version: string;
  /** `qiao.connector`, when the package declares itself a connector plugin. */
  connector?: string | undefined;
  /** The package folder (real path). */
  dir: string;
  json: Record<string, unknown>;
}

/** A connector plugin found installed or in a project's `connectors/` folder (not yet loaded). */
export interface FoundPlugin {
  id: string;
  package: string;
  version: string;
  dir: string;
  /** Where it was found, for people: `node_modules of /srv/acme`, `connectors folder of /srv/acme`, … */
  foundIn: string;
}

/** Reads `dir/package.json`; undefined when there is none or it is not JSON. */
export function readPackage(dir: string): PackageInfo | undefined {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const field = json[PLUGIN_FIELD] as { connector?: unknown } | undefined;
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // keep it as given
  }
  return {
    name: typeof json.name === 'string' ? json.name : '',
    version: typeof json.version === 'string' ? json.version : '',
    connector: typeof field?.connector === 'string' ? field.connector : undefined,
    dir: real,
    json,
  };
}

/** `dir` and every folder above it, nearest first. */
export function upwards(dir: string): string[] {
  const out: string[] = [];
  let d = resolve(dir);
  for (;;) {
    out.push(d);
    const up = dirname(d);
    if (up === d) return out;
    d = up;
  }
}

/** The `node_modules` folders Node would search from each start folder, nearest first, each once. */
export function searchFolders(starts: string[]): string[] {
  const seen = new Set<string>();
  for (const s of starts) for (const d of upwards(s)) seen.add(join(d, 'node_modules'));
  return [...seen];
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => e.name)
      .filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

/** The packages installed in a `node_modules` folder, scoped ones included. */
function installedPackages(nodeModules: string): string[] {
  const out: string[] = [];
  for (const n of subdirs(nodeModules)) {
    if (n.startsWith('@')) for (const m of subdirs(join(nodeModules, n))) out.push(join(nodeModules, n, m));
    else out.push(join(nodeModules, n));
  }
  return out;
}

/**
 * Every connector plugin visible from the start folders (a scheme's folder, the working directory,
 * qiao's own folder), nearest first; the first package found for an id wins. Looks, in each folder
 * and every folder above it, at:
 * - the folder's own package.json (a scheme inside its connector's package: `examples/`);
 * - each package in its `node_modules` (any name or scope) whose package.json has `qiao.connector`;
 * - each package in its `connectors/` folder (where `qiao connectors new` writes them).
 */
export function discoverPlugins(starts: string[]): FoundPlugin[] {
  const found = new Map<string, FoundPlugin>();
  const seenDirs = new Set<string>();
  const add = (pkgDir: string, foundIn: string) => {
    const info = readPackage(pkgDir);
    if (!info?.connector || seenDirs.has(info.dir)) return;
    seenDirs.add(info.dir);
    if (!found.has(info.connector)) found.set(info.connector, { id: info.connector, package: info.name, version: info.version, dir: info.dir, foundIn });
  };
  const visited = new Set<string>();
  for (const start of starts) {
    for (const d of upwards(start)) {
      if (visited.has(d)) continue;
      visited.add(d);
      add(d, `package folder ${d}`);
      for (const p of installedPackages(join(d, 'node_modules'))) add(p, `node_modules of ${d}`);
      for (const n of subdirs(join(d, 'connectors'))) add(join(d, 'connectors', n), `connectors folder of ${d}`);
    }
  }
  return [...found.values()];
}

/** The folder of installed package `name` visible from the start folders, or undefined. */
export function findInstalled(name: string, starts: string[]): string | undefined {
  for (const nm of searchFolders(starts)) {
    const dir = join(nm, ...name.split('/'));
    if (existsSync(join(dir, 'package.json'))) return realpathSync(dir);
  }
  return undefined;
}

/** A scheme's `connector:` that names a folder rather than an id or package: `./x`, `../x`, `/x`. */
export function isPathReference(ref: string): boolean {
  return ref === '.' || ref === '..' || /^(\.{1,2}[\\/]|[\\/]|[A-Za-z]:[\\/]|file:)/.test(ref);
}

/** An npm package name (`qiao-connector-shop`, `@acme/qiao-connector-shop`). */
export function isPackageName(ref: string): boolean {
  return /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/.test(ref);
}

/** True when `dir` is a folder. */
export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
