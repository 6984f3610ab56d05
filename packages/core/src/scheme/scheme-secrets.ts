import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import type { Problem } from '../errors/errors.js';
import { redact } from '../http/redact.js';
import { pointerEscape, valueAt } from '../manifest/ajv.js';
import { secretFields } from '../manifest/load-manifest.js';
import { hasEnvPlaceholder } from './resolve-env.js';
import type { ConnectorResolver, SchemeFile } from './scheme-types.js';

/** Names of variables (and of settings, when no manifest says) whose values are taken for secrets. */
const SECRET_NAME = /secret|passw(or)?d|credential|private_?key|api_?key|token$/i;

/** The values of a connection's secret fields (`x-secret` in the connector's manifest), for redaction. */
export function connectionSecrets(plugin: ConnectorPlugin, connection: Record<string, unknown>): string[] {
  const values: string[] = [];
  for (const field of secretFields(plugin.manifest)) {
    const v = connection[field];
    if (typeof v === 'string' && v) values.push(v);
  }
  return values;
}

/**
 * Warnings for secrets written into the scheme as they are, rather than as `${env:…}`: the secret
 * fields of both connections, then the webhooks' signing secrets. Such a file works, but cannot be
 * shared without its secrets.
 */
export function literalSecretWarnings(
  scheme: SchemeFile,
  raw: unknown,
  file: string,
  lineOf: (pointer: string) => number | undefined,
  plugins: { source: ConnectorPlugin; target: ConnectorPlugin },
): Problem[] {
  const warnings: Problem[] = [];
  const literalAt = (pointer: string) => {
    const value = valueAt(raw, pointer);
    return typeof value === 'string' && value !== '' && !hasEnvPlaceholder(value);
  };
  const warn = (pointer: string, expected: string, hint: string) => {
    const line = lineOf(pointer);
    warnings.push({ file, pointer, ...(line ? { line } : {}), expected, found: 'a literal value', hint });
  };
  for (const side of ['source', 'target'] as const) {
    const plugin = plugins[side];
    for (const field of secretFields(plugin.manifest)) {
      const pointer = `/${side}/connection/${pointerEscape(field)}`;
      if (!literalAt(pointer)) continue;
      warn(
        pointer,
        `\${env:…} for the secret field ${field}`,
        `write ${field}: \${env:${plugin.manifest.id.toUpperCase()}_${snake(field)}} so the file can be shared without the secret`,
      );
    }
  }
  (scheme.alerts?.webhooks ?? []).forEach((w, i) => {
    const pointer = `/alerts/webhooks/${i}/secret`;
    if (!literalAt(pointer)) return;
    warn(
      pointer,
      `\${env:…} for the ${w.type} webhook's signing secret`,
      `write secret: \${env:${w.type.toUpperCase()}_WEBHOOK_SECRET} so the file can be shared without it`,
    );
  });
  return warnings;
}

/**
 * Removes secret values from the problems of a scheme that failed validation (a problem's `found` is
 * never a secret, even when a secret variable is used in the wrong place): the values of the
 * connections' secret fields (`x-secret` in the manifest, or a secret-looking name when the connector
 * is unknown), of webhook secrets, and of every `${env:…}` variable with a secret-looking name.
 */
export async function hideSecrets(problems: Problem[], resolved: unknown, variables: Record<string, string>, resolver: ConnectorResolver): Promise<Problem[]> {
  const secrets = Object.entries(variables).filter(([name]) => SECRET_NAME.test(name)).map(([, v]) => v);
  for (const side of ['source', 'target']) {
    const connection = valueAt(resolved, `/${side}/connection`);
    if (connection === null || typeof connection !== 'object') continue;
    const connector = valueAt(resolved, `/${side}/connector`);
    const plugin =
      typeof connector === 'string' ? await Promise.resolve().then(() => resolver.resolve(connector)).catch(() => undefined) : undefined;
    const fields = plugin ? new Set(secretFields(plugin.manifest)) : undefined;
    for (const [key, value] of Object.entries(connection)) {
      if (typeof value === 'string' && (fields ? fields.has(key) : SECRET_NAME.test(key))) secrets.push(value);
    }
  }
  const webhooks = valueAt(resolved, '/alerts/webhooks');
  for (const w of Array.isArray(webhooks) ? webhooks : []) {
    const secret = (w as { secret?: unknown } | null)?.secret;
    if (typeof secret === 'string') secrets.push(secret);
  }
  if (secrets.length === 0) return problems;
  return problems.map((p) => {
    const out: Problem = { ...p, expected: redact(p.expected, secrets) };
    // What was found is described, not shown, once it holds a secret: a parser's message about it
    // (JSONata quotes the token it stopped at) may hold a piece of the secret that redaction misses.
    if (p.found !== undefined) out.found = redact(p.found, secrets) === p.found ? p.found : 'a value holding a secret (not shown)';
    if (p.hint !== undefined) out.hint = redact(p.hint, secrets);
    return out;
  });
}

/**
 * The problems to report when validation failed: a setting left out because its variable is unset
 * is reported once, as the missing variable; a "one of: a, or b + c" problem names the environment
 * variables the file reads those settings from.
 */
export function envAwareProblems(problems: Problem[], envProblems: Problem[], raw: unknown): Problem[] {
  const unset = new Set(envProblems.map((p) => p.pointer));
  return problems
    .filter((p, i) => i < envProblems.length || !(unset.has(p.pointer) && p.found === 'nothing'))
    .map((p) => withEnvNames(p, raw));
}

function withEnvNames(p: Problem, raw: unknown): Problem {
  if (!p.expected.startsWith('one of: ')) return p;
  const names = p.expected.slice('one of: '.length).split(', or ').map((option) =>
    option
      .split(' + ')
      .map((field) => {
        const v = valueAt(raw, `${p.pointer}/${pointerEscape(field)}`);
        const m = typeof v === 'string' ? /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}$/.exec(v) : null;
        return m ? `${field} (${m[1]})` : field;
      })
      .join(' + '),
  );
  return { ...p, hint: `set ${names.join(', or ')}` };
}

function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
