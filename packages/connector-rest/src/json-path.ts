import { JSONPath } from 'jsonpath-plus';

/** A JSONPath compiled once: plain member paths (`$.data.list`) are read directly, others by jsonpath-plus. */
export interface CompiledPath {
  text: string;
  /** Every match, in document order. */
  all(json: unknown): unknown[];
  /** The first match, or `undefined`. */
  first(json: unknown): unknown;
}

const PLAIN = /^\$((\.[A-Za-z_$][\w$-]*)|(\[\d+\])|(\['[^']*'\]))*$/;

/**
 * Why `path` is not a JSONPath this connector can use, or `undefined` when it is. jsonpath-plus is
 * lenient (an unclosed bracket just matches nothing), so a manifest's paths are checked here first.
 */
export function jsonPathProblem(path: string): string | undefined {
  if (!path.startsWith('$')) return 'it does not start with $ (the document root)';
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth < 0) return `"${c}" at ${i + 1} closes nothing`;
    }
  }
  if (quote) return `the quote ${quote} is not closed`;
  if (depth !== 0) return 'a bracket is not closed';
  if (/\.\.\.|\.$|\[\]/.test(path)) return 'it has an empty member name';
  if (/^\$[^.[]/.test(path)) return 'a member after $ must start with . or [';
  try {
    JSONPath.toPathArray(path);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

export function compilePath(text: string): CompiledPath {
  if (PLAIN.test(text)) {
    const keys = (JSONPath.toPathArray(text) as string[]).slice(1).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    const get = (json: unknown): unknown => {
      let cur = json;
      for (const k of keys) {
        if (cur === null || typeof cur !== 'object') return undefined;
        cur = (cur as Record<string | number, unknown>)[k];
      }
      return cur;
    };
    return { text, first: get, all: (json) => {
      const v = get(json);
      return v === undefined ? [] : [v];
    } };
  }
  const all = (json: unknown): unknown[] =>
    json === null || typeof json !== 'object' ? [] : (JSONPath({ path: text, json: json as object, wrap: true, eval: 'safe' }) as unknown[]);
  return { text, all, first: (json) => all(json)[0] };
}
