import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConnectorPlugin } from '../contracts/connector-plugin.js';

/**
 * Which copy of `@qiao/core` a plugin was built with. {@link defineConnector} stamps it on every plugin
 * under {@link SDK_MARK}; the host compares it with its own, because a plugin built with a second copy
 * of core (its own `node_modules/@qiao/core`) has error classes and tokens the host does not know.
 */
export interface SdkIdentity {
  /** `@qiao/core`'s version. */
  version: string;
  /** The folder of that copy of `@qiao/core` (real path). */
  root: string;
}

/** The property {@link SdkIdentity} is stamped under (a global symbol, so any copy of core reads it). */
export const SDK_MARK: unique symbol = Symbol.for('qiao.sdk') as never;

const rootUrl = new URL('../../', import.meta.url);

/** This copy of `@qiao/core`. */
export const sdkIdentity: SdkIdentity = (() => {
  const root = fileURLToPath(rootUrl);
  let version = '0.0.0';
  try {
    version = (JSON.parse(readFileSync(new URL('package.json', rootUrl), 'utf8')) as { version: string }).version;
  } catch {
    // a bundled core without its package.json: the folder still tells copies apart
  }
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    // keep the path as given
  }
  return { version, root: real.replace(/[\\/]$/, '') };
})();

/** The copy of core a plugin was defined with, when it was made with `defineConnector`. */
export function sdkOf(plugin: ConnectorPlugin): SdkIdentity | undefined {
  return (plugin as { [SDK_MARK]?: SdkIdentity })[SDK_MARK];
}
