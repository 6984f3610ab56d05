import { formatProblem, loadScheme, type LoadedScheme } from '@qiao/core';
import { knownSecrets } from './base-command.js';
import { color, err } from './output.js';
import { connectorResolverFor } from './resolver.js';

/** Loads and validates a scheme for a command; warnings go to stderr unless `quiet`. */
export async function loadSchemeForCli(file: string, options: { quiet?: boolean } = {}): Promise<LoadedScheme> {
  // connectors named by path, and installed plugins, are looked up from the scheme's own folder
  const loaded = await loadScheme(file, { resolver: connectorResolverFor(file), env: process.env });
  knownSecrets.push(...loaded.secrets);
  if (!options.quiet) for (const w of loaded.warnings) err(`${color.yellow('Warning:')} ${formatProblem(w)}`);
  return loaded;
}
