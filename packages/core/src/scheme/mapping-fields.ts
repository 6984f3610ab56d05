import jsonata from 'jsonata';
import type { Problem } from '../errors/errors.js';
import { pointerEscape } from '../manifest/ajv.js';
import type { MappingSpec } from '../mapping/declarative.mapper.js';

/** A JSON schema, as far as the analysis reads it. */
type Schema = Record<string, unknown>;

/** A field a mapping expression reads that the record schema does not have. */
export interface UnknownField {
  /** The mapping's target (its key). */
  target: string;
  /** The path read, e.g. `customers.emial`. */
  path: string;
  /** The unknown name itself (the last step of `path`). */
  name: string;
  /** The names the schema has at that level. */
  known: string[];
  /** The schema allows no other names there (`additionalProperties: false`). */
  closed: boolean;
}

interface Node {
  type: string;
  value?: unknown;
  steps?: Node[];
  stages?: Node[];
  predicate?: Node[];
  expr?: Node;
  lhs?: Node | [Node, Node][];
  rhs?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  expressions?: Node[];
  expression?: Node;
  arguments?: Node[];
  procedure?: Node;
  terms?: { expression: Node }[];
  group?: { lhs: [Node, Node][] };
  body?: Node;
}

/** Functions whose result holds the items of their first argument (so `$append(a, b)[0].x` reads `a.x`). */
const KEEPS_ITEMS = new Set(['append', 'filter', 'sort', 'reverse', 'distinct', 'shuffle', 'single']);

/**
 * The fields each JSONata expression of a mapping reads from the source record, checked statically
 * against the stream's record schema: a path (`homepage`, `customers[main_customer_flag = 1].email`,
 * `$c.name` where `$c := customers[0]`) is followed through the schema's properties and array items,
 * and a name the schema does not list at that level is returned. What the analysis cannot follow (a
 * wildcard, a lambda's parameters, a computed value) is not checked, so nothing valid is reported.
 */
export function unknownMappingFields(mapping: MappingSpec, record: Schema): UnknownField[] {
  const found: UnknownField[] = [];
  for (const [target, value] of Object.entries(mapping)) {
    if (typeof value !== 'string') continue;
    let ast: Node;
    try {
      ast = jsonata(value).ast() as Node;
    } catch {
      continue; // the mapper's own compile reports it
    }
    const seen = new Set<string>();
    const report = (path: string[], known: string[], closed: boolean) => {
      const key = path.join('.');
      if (seen.has(key)) return;
      seen.add(key);
      found.push({ target, path: key, name: path[path.length - 1]!, known, closed });
    };
    new Walker(record, report).walk(ast, { schema: record, path: [] }, new Map());
  }
  return found;
}

/** Where an expression stands: the schema of its context and the path that led there. */
interface At {
  schema: Schema | undefined;
  path: string[];
}

const UNKNOWN: At = { schema: undefined, path: [] };

class Walker {
  constructor(
    private readonly root: Schema,
    private readonly report: (path: string[], known: string[], closed: boolean) => void,
  ) {}

  /** Walks `node` in the context `at`; returns where its result stands (for paths and bound variables). */
  walk(node: Node | undefined, at: At, vars: Map<string, At>): At {
    if (!node || typeof node !== 'object') return UNKNOWN;
    let result: At;
    switch (node.type) {
      case 'path':
        result = this.path(node.steps ?? [], at, vars);
        break;
      case 'name':
        result = this.path([node], at, vars);
        break;
      case 'variable':
        result = this.variable(String(node.value ?? ''), at, vars);
        break;
      case 'binary':
        this.walk(node.lhs as Node, at, vars);
        this.walk(node.rhs, at, vars);
        result = UNKNOWN;
        break;
      case 'condition': {
        this.walk(node.condition, at, vars);
        const then = this.walk(node.then, at, vars);
        const otherwise = this.walk(node.else, at, vars);
        result = then.schema ? then : otherwise;
        break;
      }
      case 'block': {
        const scope = new Map(vars);
        result = UNKNOWN;
        for (const e of node.expressions ?? []) result = this.walk(e, at, scope);
        break;
      }
      case 'bind': {
        result = this.walk(node.rhs, at, vars);
        const name = (node.lhs as Node | undefined)?.value;
        if (typeof name === 'string') vars.set(name, result);
        break;
      }
      case 'function':
      case 'partial': {
        const args = (node.arguments ?? []).map((a) => this.walk(a, at, vars));
        const fn = node.procedure?.type === 'variable' ? String(node.procedure.value) : '';
        result = KEEPS_ITEMS.has(fn) && args[0] ? args[0] : UNKNOWN;
        break;
      }
      case 'unary':
        if (Array.isArray(node.lhs)) for (const [k, v] of node.lhs) (this.walk(k, at, vars), this.walk(v, at, vars));
        for (const e of node.expressions ?? []) this.walk(e, at, vars);
        this.walk(node.expression, at, vars);
        result = UNKNOWN;
        break;
      case 'apply':
        this.walk(node.lhs as Node, at, vars);
        this.walk(node.rhs, at, vars);
        result = UNKNOWN;
        break;
      case 'lambda': {
        // its parameters and its context are known only where it is called
        const scope = new Map(vars);
        for (const a of node.arguments ?? []) if (typeof a.value === 'string') scope.set(a.value, UNKNOWN);
        this.walk(node.body, UNKNOWN, scope);
        result = UNKNOWN;
        break;
      }
      default:
        // literals, regexes, wildcards, transforms…: nothing read that can be followed
        result = UNKNOWN;
    }
    return this.filters(node.predicate, result, vars);
  }

  private variable(name: string, at: At, vars: Map<string, At>): At {
    if (name === '') return at; // `$`: the context
    if (name === '$') return { schema: this.root, path: [] }; // `$$`: the record
    return vars.get(name) ?? UNKNOWN;
  }

  /** Follows a path's steps through the schema. */
  private path(steps: Node[], at: At, vars: Map<string, At>): At {
    let cur = at;
    for (const [i, step] of steps.entries()) {
      if (step.type === 'name') {
        cur = this.field(cur, String(step.value));
      } else if (step.type === 'variable' && i === 0) {
        cur = this.variable(String(step.value ?? ''), cur, vars);
      } else if (step.type === 'sort') {
        for (const t of step.terms ?? []) this.walk(t.expression, items(cur), vars);
      } else {
        // a step that computes (a function, a block, a constructor) in the context of each item
        cur = this.walk(step, items(cur), vars);
      }
      cur = this.filters(step.stages, cur, vars);
      if (step.group) for (const [k, v] of step.group.lhs) (this.walk(k, items(cur), vars), this.walk(v, items(cur), vars));
    }
    return cur;
  }

  /** Predicates (`[…]`) are evaluated in the context of each item; the result keeps the items' schema. */
  private filters(stages: Node[] | undefined, at: At, vars: Map<string, At>): At {
    for (const s of stages ?? []) if (s.type === 'filter') this.walk(s.expr, items(at), vars);
    return at;
  }

  /** One name step: its schema when the parent lists it; reported when the parent's properties lack it. */
  private field(at: At, name: string): At {
    const base = items(at);
    if (!base.schema) return UNKNOWN;
    const props = base.schema.properties as Record<string, Schema> | undefined;
    if (!props || typeof props !== 'object') return UNKNOWN;
    const path = [...base.path, name];
    const next = props[name];
    if (next === undefined) {
      this.report(path, Object.keys(props), base.schema.additionalProperties === false);
      return UNKNOWN;
    }
    return { schema: next, path };
  }
}

/** JSONata maps a path over an array's items: the schema of the items of an array, else the schema itself. */
function items(at: At): At {
  const s = at.schema;
  if (!s) return at;
  const types = Array.isArray(s.type) ? (s.type as unknown[]) : [s.type];
  if (types.includes('array')) {
    const item = s.items;
    return item && typeof item === 'object' && !Array.isArray(item) ? { schema: item as Schema, path: at.path } : UNKNOWN;
  }
  return at;
}

/**
 * Problems (and warnings) for the fields a mapping reads that the source stream's record schema does not
 * have. A name within two edits of a listed one is a problem ("did you mean"), and so is any unknown name
 * where the schema allows no other; an unknown name where the schema allows others is a warning (the
 * system may send it, the manifest does not promise it).
 */
export function checkMappingSources(
  mapping: MappingSpec,
  record: Schema | undefined,
  file: string,
  source: { connector: string; stream: string },
  closest: (name: string, known: string[]) => string | undefined,
): { problems: Problem[]; warnings: Problem[] } {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  if (!record) return { problems, warnings };
  for (const u of unknownMappingFields(mapping, record)) {
    const guess = closest(u.name, u.known);
    const parent = u.path.includes('.') ? ` under ${u.path.slice(0, u.path.lastIndexOf('.'))}` : '';
    const p: Problem = {
      file,
      pointer: `/mapping/${pointerEscape(u.target)}`,
      expected: `a field of the ${source.connector} ${source.stream} record${parent}`,
      found: JSON.stringify(u.name),
      hint: guess
        ? `did you mean ${guess}?`
        : `the record has ${u.known.length > 12 ? `${u.known.slice(0, 12).join(', ')}…` : u.known.join(', ')}; see \`qiao connectors describe ${source.connector}\``,
    };
    (guess || u.closed ? problems : warnings).push(p);
  }
  return { problems, warnings };
}
