import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConnectorLoadError,
  discoverPlugins,
  resolveConnector,
  type BuiltinConnector,
  type ConnectorPlugin,
  type ConnectorResolver,
  type LoadedConnector,
} from '@qiao/core';
import { learnDiagnoses } from './diagnose.js';

/**
 * Connectors that ship with qiao, by id. Every other connector is a plugin: an installed package (any
 * name or scope) whose package.json says `"qiao": { "connector": "<id>" }`, or a package folder a
 * scheme names by path (docs/authoring-connectors.md).
 */
const builtin: Record<string, BuiltinConnector> = {
  okki: { package: '@qiao/connector-okki', load: async () => (await import('@qiao/connector-okki')).default },
  yonbip: { package: '@qiao/connector-yonbip', load: async () => (await import('@qiao/connector-yonbip')).default },
  rest: { package: '@qiao/connector-rest', load: async () => (await import('@qiao/connector-rest')).default },
  file: { package: '@qiao/connector-file', load: async () => (await import('@qiao/connector-file')).default },
  // the internal test connector: usable in schemes, listed only with `qiao connectors --all`
  memory: { package: '@qiao/core (testing)', load: async () => (await import('@qiao/core/testing')).memoryConnector, hidden: true },
};

/** runner-cli's own package folder: plugins installed beside qiao (globally, or in the same project) are found from it. */
const hostDir = fileURLToPath(new URL('../../', import.meta.url));

/** Where plugins are searched from, nearest first: the scheme's folder, the working directory, qiao's folder. */
export function searchFrom(schemeDir?: string): string[] {
  return [...(schemeDir ? [schemeDir] : []), process.cwd(), hostDir];
}

export function packageName(id: string): string {
  return builtin[id]?.package ?? `@qiao/connector-${id}`;
}

const loaded = new Map<string, Promise<LoadedConnector>>();

/**
 * Loads a connector by what a scheme's `connector:` says (see core's `resolveConnector`), once per
 * process for the same name and folder. Its diagnoses become known to `diagnose`.
 * @param baseDir the folder a path is relative to (the scheme's folder)
 * @throws ConnectorLoadError saying which case it is
 */
export function loadConnector(ref: string, baseDir: string = process.cwd()): Promise<LoadedConnector> {
  const key = `${ref}\0${baseDir}`;
  let p = loaded.get(key);
  if (!p) {
    p = resolveConnector(ref, { builtin, searchFrom: searchFrom(baseDir), baseDir }).then((c) => {
      learnDiagnoses(c.plugin);
      return c;
    });
    loaded.set(key, p);
  }
  return p;
}

/** The resolver for one scheme file: paths and installed plugins are looked up from its folder. */
export function connectorResolverFor(schemeFile?: string): ConnectorResolver {
  const baseDir = schemeFile ? dirname(resolve(schemeFile)) : process.cwd();
  return {
    resolve: async (ref) => (await loadConnector(ref, baseDir)).plugin,
    known: () => [...Object.keys(builtin).filter((id) => !builtin[id]!.hidden), ...discoverPlugins(searchFrom(baseDir)).map((f) => f.id)],
    packageName,
  };
}

/** Resolves connectors from the working directory (for callers without a scheme file). */
export const connectorResolver: ConnectorResolver = connectorResolverFor();

/** A listed connector, or one that was found but failed to load (with why). */
export type ListedConnector = (LoadedConnector & { hidden: boolean }) | { id: string; package: string; version: string; foundIn: string; dir?: string | undefined; error: ConnectorLoadError };

/**
 * The built-in connectors and every plugin visible from `from` (and the working directory, and qiao's
 * own folder). A plugin that fails to load is listed with its error rather than hiding the others.
 * @param all include hidden connectors (the internal `memory` one)
 */
export async function listConnectors(options: { all?: boolean; from?: string } = {}): Promise<ListedConnector[]> {
  const out: ListedConnector[] = [];
  for (const [id, b] of Object.entries(builtin)) {
    if (b.hidden && !options.all) continue;
    out.push({ ...(await loadConnector(id)), hidden: b.hidden === true });
  }
  for (const f of discoverPlugins(searchFrom(options.from))) {
    if (builtin[f.id]) continue;
    try {
      out.push({ ...(await loadConnector(f.dir, f.dir)), foundIn: f.foundIn, hidden: false });
    } catch (e) {
      if (!(e instanceof ConnectorLoadError)) throw e;
      out.push({ id: f.id, package: f.package, version: f.version, foundIn: f.foundIn, dir: f.dir, error: e });
    }
  }
  return out;
}

/** Every connector that loads (built-in and installed); their diagnoses become known to `diagnose`. */
export async function allConnectors(): Promise<ConnectorPlugin[]> {
  const list = await listConnectors({ all: true });
  return list.flatMap((c) => ('plugin' in c ? [c.plugin] : []));
}
