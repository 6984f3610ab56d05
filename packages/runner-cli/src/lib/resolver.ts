import type { ConnectorPlugin, ConnectorResolver } from '@qiao/core';
import { learnDiagnoses } from './diagnose.js';

/** Connectors that ship with qiao, by id. Other ids resolve to the npm package `@qiao/connector-<id>`. */
const builtin: Record<string, () => Promise<ConnectorPlugin>> = {
  okki: async () => (await import('@qiao/connector-okki')).default,
  yonbip: async () => (await import('@qiao/connector-yonbip')).default,
  rest: async () => (await import('@qiao/connector-rest')).default,
  file: async () => (await import('@qiao/connector-file')).default,
  memory: async () => (await import('@qiao/core/testing')).memoryConnector,
};

export function packageName(id: string): string {
  return id === 'memory' ? '@qiao/core (testing)' : `@qiao/connector-${id}`;
}

/**
 * Resolves connector ids from a scheme to plugins: built-in ones first, then installed packages. Every
 * plugin it resolves contributes its diagnoses to `diagnose`.
 */
export const connectorResolver: ConnectorResolver = {
  async resolve(id: string): Promise<ConnectorPlugin | undefined> {
    const plugin = await find(id);
    if (plugin) learnDiagnoses(plugin);
    return plugin;
  },
  known: () => Object.keys(builtin),
  packageName,
};

async function find(id: string): Promise<ConnectorPlugin | undefined> {
  const load = builtin[id];
  if (load) return load();
  if (!/^[a-z][a-z0-9-]*$/.test(id)) return undefined;
  try {
    const mod = (await import(packageName(id))) as { default?: ConnectorPlugin };
    return mod.default;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(packageName(id))) return undefined;
    throw e;
  }
}

/** The connectors that ship with qiao; their diagnoses become known to `diagnose`. */
export async function allConnectors(): Promise<ConnectorPlugin[]> {
  const plugins = await Promise.all(Object.values(builtin).map((load) => load()));
  plugins.forEach(learnDiagnoses);
  return plugins;
}
