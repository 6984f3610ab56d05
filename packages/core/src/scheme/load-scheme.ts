import { InputError, type Problem } from '../errors/errors.js';
import { readScheme, withLines } from './read-scheme.js';
import { resolveEnv } from './resolve-env.js';
import { connectionSecrets, envAwareProblems, hideSecrets, literalSecretWarnings } from './scheme-secrets.js';
import type { ConnectorResolver, LoadedScheme, SchemeFile } from './scheme-types.js';
import { checkAgainstConnectors, checkSchemeShape, payloadChecker } from './validate-scheme.js';

export type { ConnectorResolver, LoadedScheme, ResolvedEndpoint, SchemeFile } from './scheme-types.js';
export { MAX_SCHEME_BYTES, MAX_SCHEME_DEPTH } from './read-scheme.js';
export { closest } from './validate-scheme.js';

export interface LoadSchemeOptions {
  /** The environment `${env:…}` placeholders are read from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Finds the connectors the scheme names. */
  resolver: ConnectorResolver;
  /** Scheme text, when it is not read from `file`. */
  text?: string;
}

/**
 * Reads, resolves and validates a scheme as a whole before anything runs: syntax, `${env:…}`, the scheme
 * schema, the connectors, streams and operations it names, connection and params against the manifests,
 * then the mapping expressions. Throws one {@link InputError} listing every problem found, with no
 * secret value in it.
 *
 * The stages: read-scheme.ts (the file, its size, YAML/JSON, lines of pointers), resolve-env.ts
 * (`${env:…}`), validate-scheme.ts (schema, connectors, manifests, "did you mean") and
 * scheme-secrets.ts (secret values: kept for redaction, hidden from problems, warned about when literal).
 */
export async function loadScheme(file: string, options: LoadSchemeOptions): Promise<LoadedScheme> {
  const { raw, lineOf } = await readScheme(file, options.text);
  const env = resolveEnv(raw, options.env ?? process.env, file);
  const resolved = env.value;
  const reject = async (problems: Problem[]) =>
    new InputError(await hideSecrets(withLines(problems, lineOf, file), resolved, env.variables, options.resolver), { system: file });

  const shape = checkSchemeShape(resolved, file);
  // a setting left out because its variable is unset is reported once, as the variable
  const byEnv = (p: Problem) => env.problems.some((e) => e.pointer === p.pointer || e.pointer.startsWith(`${p.pointer}/`));
  if (shape.length) throw await reject([...env.problems, ...shape.filter((p) => !byEnv(p))]);
  const scheme = resolved as unknown as SchemeFile;

  const problems: Problem[] = [...env.problems];
  const checked = await checkAgainstConnectors(scheme, file, options.resolver, problems);
  const { sourcePlugin, targetPlugin, stream, operation } = checked;
  if (problems.length || !sourcePlugin || !targetPlugin || !stream || !operation) {
    throw await reject(envAwareProblems(problems, env.problems, raw));
  }

  const sourceSecrets = connectionSecrets(sourcePlugin, checked.sourceConnection);
  const targetSecrets = connectionSecrets(targetPlugin, checked.targetConnection);
  const webhookSecrets = (scheme.alerts?.webhooks ?? []).flatMap((w) => (w.secret ? [w.secret] : []));
  const inc = scheme.source.incremental;
  return {
    file,
    scheme,
    source: {
      plugin: sourcePlugin,
      manifest: sourcePlugin.manifest,
      connection: checked.sourceConnection,
      limits: { ...sourcePlugin.manifest.limits, ...scheme.source.limits },
      secrets: sourceSecrets,
      stream,
      params: checked.params,
      detail: scheme.source.detail ?? Boolean(stream.detail),
      incremental: inc === undefined ? Boolean(stream.cursor) : inc !== false,
      lookbackMs: checked.lookbackMs,
    },
    target: {
      plugin: targetPlugin,
      manifest: targetPlugin.manifest,
      connection: checked.targetConnection,
      limits: { ...targetPlugin.manifest.limits, ...scheme.target.limits },
      secrets: targetSecrets,
      operation,
    },
    mapper: checked.mapper,
    checkPayload: payloadChecker(targetPlugin.manifest.id, operation),
    warnings: [...withLines(checked.warnings, lineOf), ...literalSecretWarnings(scheme, raw, file, lineOf, { source: sourcePlugin, target: targetPlugin })],
    secrets: [...sourceSecrets, ...targetSecrets, ...webhookSecrets],
  };
}
