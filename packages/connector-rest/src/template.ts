/**
 * `{{scope.name}}` placeholders in manifest strings. A string that is one placeholder alone gives the
 * value with its type (a number stays a number); a placeholder with no value gives `undefined` alone,
 * and `""` inside a longer string.
 */
export type TemplateScope = Record<string, unknown>;

const ONE = /^\{\{\s*([A-Za-z_][\w.]*)\s*\}\}$/;
const ANY = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

export function lookup(scope: TemplateScope, name: string): unknown {
  let cur: unknown = scope;
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Fills one template value. */
export function fill(value: string | number | boolean, scope: TemplateScope): unknown {
  if (typeof value !== 'string') return value;
  const one = ONE.exec(value);
  if (one) return lookup(scope, one[1]!);
  if (!value.includes('{{')) return value;
  return value.replace(ANY, (_, name: string) => {
    const v = lookup(scope, name);
    return v === undefined || v === null ? '' : String(v);
  });
}

/** Fills a map of templates; values that come out `undefined`, `null` or `""` are left out. */
export function fillMap(map: Record<string, string | number | boolean> | undefined, scope: TemplateScope): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, t] of Object.entries(map ?? {})) {
    const v = fill(t, scope);
    if (v === undefined || v === null || v === '') continue;
    out[k] = typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  }
  return out;
}

/** The placeholders a template names (`connection.baseUrl`), for validation. */
export function placeholders(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return [...value.matchAll(ANY)].map((m) => m[1]!);
}
