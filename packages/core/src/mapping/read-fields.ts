/**
 * Which fields of a record a JSONata expression can read, from its AST: every name in it (`name`,
 * `customers`, and the names inside paths and filters, which over-counts harmlessly). `undefined` when
 * the expression can reach fields it does not name — the record itself (`$`, `$$`), wildcards,
 * descendants, parents, or functions that list or look up keys — or uses anything not known here.
 */
export function readFields(ast: unknown): Set<string> | undefined {
  const names = new Set<string>();
  return visit(ast, names) ? names : undefined;
}

/** Node types that read no field other than through the names under them. */
const PLAIN = new Set(['path', 'name', 'string', 'number', 'value', 'regex', 'binary', 'unary', 'condition', 'block', 'bind', 'filter', 'function', 'sort', 'apply']);
/** Functions that only compute with their arguments (no key listing or lookup, no evaluation of text). */
const PURE_FUNCTIONS = new Set([
  'exists', 'append', 'boolean', 'not', 'string', 'trim', 'uppercase', 'lowercase', 'length', 'count', 'substring',
  'substringBefore', 'substringAfter', 'contains', 'split', 'join', 'replace', 'match', 'number', 'abs', 'floor', 'ceil',
  'round', 'power', 'sqrt', 'sum', 'max', 'min', 'average', 'pad', 'now', 'millis', 'fromMillis', 'toMillis',
  'formatNumber', 'formatBase', 'formatInteger', 'parseInteger', 'reverse', 'distinct', 'type', 'base64encode',
  'base64decode', 'encodeUrl', 'encodeUrlComponent', 'decodeUrl', 'decodeUrlComponent', 'zip',
]);
/** AST keys that hold sub-expressions (the parser's own bookkeeping keys are skipped). */
const CHILD_KEYS = ['steps', 'stages', 'predicate', 'lhs', 'rhs', 'condition', 'then', 'else', 'expressions', 'expression', 'arguments', 'expr', 'group', 'terms'];

function visit(node: unknown, names: Set<string>): boolean {
  if (Array.isArray(node)) return node.every((n) => visit(n, names));
  if (node === null || typeof node !== 'object') return true;
  const n = node as { type?: unknown; value?: unknown; procedure?: { type?: unknown; value?: unknown } };
  const type = n.type;
  if (type === 'variable') {
    // `$` (the context, at the top the record) and `$$` (the record): any field
    if (n.value === '' || n.value === '$') return false;
    return true;
  }
  if (typeof type !== 'string' || !PLAIN.has(type)) return false;
  if (type === 'name') names.add(String(n.value));
  if (type === 'function') {
    const p = n.procedure;
    if (!p || p.type !== 'variable' || typeof p.value !== 'string' || !PURE_FUNCTIONS.has(p.value)) return false;
  }
  if (type === 'apply' || type === 'sort') return false; // function chains and sort terms: not analysed
  for (const key of CHILD_KEYS) {
    const child = (node as Record<string, unknown>)[key];
    if (child !== undefined && !visit(child, names)) return false;
  }
  return true;
}
