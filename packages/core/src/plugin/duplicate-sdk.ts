import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import type { Problem } from '../errors/errors.js';
import { sdkIdentity, sdkOf } from './sdk.js';

/** The packages a plugin must share with qiao: a second copy of either breaks it at run time. */
export const SHARED_PACKAGES = ['@qiao/core', 'tsyringe'] as const;

/**
 * The folder Node would load package `name` from, starting at `from`: the first
 * `node_modules/<name>/package.json` walking up (real path), or undefined.
 */
export function packageFolder(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function versionAt(folder: string): string {
  try {
    return (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

/** Where this copy of core loads `name` from (core itself for `@qiao/core`). */
function hostFolder(name: string): string | undefined {
  return name === '@qiao/core' ? sdkIdentity.root : packageFolder(name, sdkIdentity.root);
}

/**
 * Second copies of `@qiao/core` or `tsyringe` a plugin package would load instead of qiao's own: each
 * problem names both folders and says what to remove. Run it on the package folder before importing
 * the plugin (a second copy can fail the import itself), and on the plugin after (see {@link sdkProblems}).
 * @param packageDir the plugin's package folder
 * @param label how to name the plugin in messages (its package name)
 */
export function duplicateSdkProblems(packageDir: string, label: string): Problem[] {
  const problems: Problem[] = [];
  let real = packageDir;
  try {
    real = realpathSync(packageDir);
  } catch {
    return problems;
  }
  for (const name of SHARED_PACKAGES) {
    const host = hostFolder(name);
    const own = packageFolder(name, real);
    if (!host || !own || own === host) continue;
    problems.push(duplicateProblem(name, label, own, host));
  }
  return problems;
}

/** The problem for a plugin that loaded `name` from `own` while qiao uses `host`. */
export function duplicateProblem(name: string, label: string, own: string, host: string): Problem {
  return {
    file: join(own, 'package.json'),
    pointer: '',
    expected: `connector ${label} to use qiao's own ${name} (${host}, ${versionAt(host)})`,
    found: `a second copy of ${name} (${versionAt(own)}) at ${own}`,
    hint:
      name === '@qiao/core'
        ? `a connector takes @qiao/core as a peerDependency, never a dependency: remove ${own} (or run npm dedupe), and install the connector into the project where qiao is installed`
        : `a connector registers through defineConnector and needs no tsyringe of its own: remove tsyringe from its dependencies and delete ${own}, or run npm dedupe`,
  };
}

/**
 * A plugin made by `defineConnector` of another copy of `@qiao/core` than the one running: the problem
 * naming both copies; empty when it is the same copy or the plugin carries no mark (a hand-written
 * `register`).
 */
export function sdkProblems(plugin: ConnectorPlugin, label: string): Problem[] {
  const sdk = sdkOf(plugin);
  if (!sdk || sdk.root === sdkIdentity.root) return [];
  return [duplicateProblem('@qiao/core', label, sdk.root, sdkIdentity.root)];
}
