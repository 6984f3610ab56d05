import type { Problem } from '../errors/errors.js';
import { pointerEscape } from '../manifest/ajv.js';

/** Names of secrets: a missing one is never given a default in the file. */
const SECRET_NAME = /secret|passw(or)?d|credential|private_?key|api_?key|app_?key|token$/i;

const PLACEHOLDER = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Whether a string holds an `${env:…}` placeholder. */
export function hasEnvPlaceholder(value: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(value);
}

/**
 * Resolves `${env:NAME}` and `${env:NAME:-default}` in every string of a parsed document. A missing
 * variable without a default is a problem naming it and where it is used. A value that is nothing but
 * placeholders and resolves to the empty string is left out, so `tenantId: ${env:YONBIP_TENANT_ID:-}`
 * makes an optional setting. `variables` holds the variables used, with their values.
 */
export function resolveEnv(
  doc: unknown,
  env: Record<string, string | undefined>,
  file: string,
): { value: unknown; problems: Problem[]; variables: Record<string, string> } {
  const problems: Problem[] = [];
  const missing = new Set<string>();
  const variables: Record<string, string> = {};
  const walk = (node: unknown, pointer: string): unknown => {
    if (typeof node === 'string') {
      return node.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
        const v = env[name];
        if (v !== undefined && v !== '') {
          variables[name] = v;
          return v;
        }
        if (fallback !== undefined) return fallback;
        if (!missing.has(`${name}@${pointer}`)) {
          missing.add(`${name}@${pointer}`);
          const empty = v === '';
          // a secret has no default to suggest: it belongs in the environment, never in the file
          const secret = SECRET_NAME.test(name) || SECRET_NAME.test(pointer.split('/').pop() ?? '');
          problems.push({
            file,
            pointer,
            expected: `the environment variable ${name} to be set${empty ? ' to a value' : ''}`,
            found: empty ? 'it set, but empty' : 'it unset',
            hint: secret
              ? `export ${name}=… in the environment qiao runs in (a secret: keep it out of the file)`
              : empty
                ? `give ${name} a value (export ${name}=…), or write \${env:${name}:-default} in the scheme for a default`
                : `export ${name}=… (or write \${env:${name}:-default} in the scheme)`,
          });
        }
        return '';
      });
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${pointer}/${i}`));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) {
        const resolved = walk(v, `${pointer}/${pointerEscape(k)}`);
        if (resolved === '' && typeof v === 'string' && v !== '' && v.replace(PLACEHOLDER, '') === '') continue;
        // A key named __proto__ stays an own key (and is reported as unknown) rather than replacing the prototype.
        Object.defineProperty(out, k, { value: resolved, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return node;
  };
  return { value: walk(doc, ''), problems, variables };
}

/** Parses a duration: a number of milliseconds, or `30s`, `10m`, `2h`, `1d`. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return n * unit;
}
