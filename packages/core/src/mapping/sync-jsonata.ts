/**
 * A synchronous evaluator for the part of JSONata that mappings use most: field paths with filters and
 * indexes, literals, comparisons, `and`/`or`, string concatenation, arithmetic, conditions, blocks with
 * `$var :=` bindings, and a few pure functions ($exists, $append, $boolean, $not, $string, $trim,
 * $uppercase, $lowercase, $length, $count).
 *
 * JSONata 2 evaluates every node of an expression through an async function: for a mapping of a few
 * expressions that is thousands of promises per record, most of the allocation and garbage of a run
 * (bench/RESULTS.md). This module follows jsonata.js's own algorithms (evaluatePath, evaluateStep,
 * evaluateFilter, lookup, the operators, boolean casting, sequences and their unwrapping) step by step,
 * without the promises. What it does not cover is not compiled (`compileSync` returns undefined) and
 * JSONata evaluates it; where a value would make JSONata raise an error or convert a type, the evaluator
 * gives up on that record (`Bail`) and JSONata evaluates it, so errors and edge cases are JSONata's own.
 * test/sync-jsonata.test.ts checks it against JSONata on generated records.
 */

type Ast = { type: string; value?: unknown; [k: string]: unknown };
type Sequence = unknown[] & { sequence?: boolean; keepSingleton?: boolean };
/** Variables of a block (made on the first binding); the root frame holds the input as `$$`. */
type Frame = { vars: Map<string, unknown> | undefined; parent: Frame | undefined; root: unknown };
type Node = (input: unknown, frame: Frame) => unknown;

/** Thrown where JSONata would raise an error or do something this evaluator does not: JSONata takes over. */
export class Bail extends Error {
  constructor() {
    super('evaluate with JSONata');
  }
}
const BAIL = new Bail();

function seq(...items: unknown[]): Sequence {
  const s = items as Sequence;
  s.sequence = true;
  return s;
}

const isSequence = (v: unknown): v is Sequence => Array.isArray(v) && (v as Sequence).sequence === true;

/**
 * Compiles an expression's AST (from `jsonata(source).ast()`) into a synchronous function of the input
 * record, or returns undefined when the expression uses something outside the supported part.
 */
export function compileSync(ast: unknown): ((input: unknown) => unknown) | undefined {
  let node: Node;
  try {
    node = compile(ast as Ast);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  return (input) => {
    // as jsonata's evaluate(): an array input is one value, wrapped
    if (Array.isArray(input)) throw BAIL;
    return node(input, { vars: undefined, parent: undefined, root: input });
  };
}

class Unsupported extends Error {}
const unsupported = (): never => {
  throw new Unsupported();
};

/** Keys an AST node may carry that this evaluator understands; anything else (group, focus, tuple, keepArray…) is not compiled. */
const KNOWN_KEYS = new Set(['type', 'value', 'position', 'steps', 'stages', 'predicate', 'lhs', 'rhs', 'condition', 'then', 'else', 'expressions', 'arguments', 'procedure', 'expr']);

/** Keys of a node that carry something (the parser leaves some keys present but undefined). */
const keysOf = (ast: Ast): string[] => Object.keys(ast).filter((k) => ast[k] !== undefined);

function compile(ast: Ast): Node {
  for (const k of keysOf(ast)) if (!KNOWN_KEYS.has(k)) unsupported();
  const body = compileBody(ast);
  const predicate = ast.predicate as Ast[] | undefined;
  const filters = predicate ? predicate.map(compileFilter) : [];
  // evaluate()'s tail: the node's predicates, then a sequence of 0 or 1 items is unwrapped
  return (input, frame) => {
    let result = body(input, frame);
    for (const f of filters) result = f(result, frame);
    if (isSequence(result)) {
      if (result.length === 0) return undefined;
      if (result.length === 1 && !result.keepSingleton) return result[0];
    }
    return result;
  };
}

function compileBody(ast: Ast): Node {
  switch (ast.type) {
    case 'string':
    case 'number':
    case 'value': {
      const v = ast.value;
      if (typeof v === 'number' && !Number.isFinite(v)) unsupported();
      return () => v;
    }
    case 'path':
      return compilePath(ast);
    case 'name': {
      const key = String(ast.value);
      return (input) => lookup(input, key);
    }
    case 'variable': {
      const name = String(ast.value);
      if (name === '') return (input) => input;
      return (_input, frame) => variable(frame, name);
    }
    case 'binary':
      return compileBinary(ast);
    case 'condition': {
      const cond = compile(ast.condition as Ast);
      const then = compile(ast.then as Ast);
      const otherwise = ast.else === undefined ? undefined : compile(ast.else as Ast);
      return (input, frame) => (boolean(cond(input, frame)) ? then(input, frame) : otherwise?.(input, frame));
    }
    case 'block': {
      const expressions = (ast.expressions as Ast[]).map(compile);
      return (input, frame) => {
        const inner: Frame = { vars: undefined, parent: frame, root: frame.root };
        let result: unknown;
        for (const e of expressions) result = e(input, inner);
        return result;
      };
    }
    case 'bind': {
      const lhs = ast.lhs as Ast;
      if (lhs.type !== 'variable' || typeof lhs.value !== 'string' || lhs.value === '' || lhs.value === '$') unsupported();
      const name = lhs.value as string;
      const rhs = compile(ast.rhs as Ast);
      return (input, frame) => {
        const value = rhs(input, frame);
        // a function value (lambda, built-in) is beyond this evaluator
        if (typeof value === 'function') throw BAIL;
        (frame.vars ??= new Map()).set(name, value);
        return value;
      };
    }
    case 'function':
      return compileFunction(ast);
    default:
      return unsupported();
  }
}

function variable(frame: Frame, name: string): unknown {
  for (let f: Frame | undefined = frame; f; f = f.parent) if (f.vars?.has(name)) return f.vars.get(name);
  if (name === '$') return frame.root;
  // a built-in function used as a value, or a name JSONata would resolve: not ours
  throw BAIL;
}

// ---- paths (jsonata.js evaluatePath / evaluateStep / evaluateFilter / lookup) -------------------------

function compilePath(ast: Ast): Node {
  const steps = ast.steps as Ast[];
  if (!Array.isArray(steps) || steps.length === 0) unsupported();
  const compiled = steps.map((step, i) => {
    const stages = ((step.stages as Ast[] | undefined) ?? []).map((s) => {
      if (s.type !== 'filter') unsupported();
      return compileFilter(s);
    });
    // each step is evaluated as a whole (its predicate, unwrapping), then filtered by its stages
    return { node: compile({ ...step, stages: undefined }), stages, last: i === steps.length - 1 };
  });
  const firstIsVariable = steps[0]!.type === 'variable';
  const general: Node = (input, frame) => {
    let inputSequence: unknown[] = Array.isArray(input) && !firstIsVariable ? input : seq(input);
    let resultSequence: Sequence | undefined;
    for (const step of compiled) {
      // evaluateStep
      const result: unknown[] = [];
      for (const item of inputSequence) {
        let res = step.node(item, frame);
        for (const f of step.stages) res = f(res, frame);
        if (res !== undefined) result.push(res);
      }
      if (step.last && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) {
        resultSequence = result[0] as Sequence;
      } else {
        resultSequence = seq();
        for (const res of result) {
          if (!Array.isArray(res)) resultSequence.push(res);
          else for (const v of res) resultSequence.push(v);
        }
      }
      if (resultSequence.length === 0) break;
      inputSequence = resultSequence;
    }
    return resultSequence;
  };
  // One step (`tel[1]`, `customers[flag = 1]`, `$v`) over one input: the step's value as evaluateStep
  // and evaluate() would leave it, without the sequences around it.
  if (compiled.length === 1) {
    const step = compiled[0]!;
    return (input, frame) => {
      if (!firstIsVariable && Array.isArray(input)) return general(input, frame);
      let res = step.node(input, frame);
      for (const f of step.stages) res = f(res, frame);
      // nothing → an empty sequence; a plain array or a single value → itself; a sequence → its items
      // (unwrapped by the caller as the general way's copy would be)
      return res;
    };
  }
  // Field names only (`a.b.c`) over objects: what the steps above give is the field's value itself (an
  // array as it is, nothing for a missing field), without building sequences. Arrays on the way, and
  // sequences, take the general way.
  if (steps.every((step) => step.type === 'name' && keysOf(step).every((k) => k === 'type' || k === 'value' || k === 'position'))) {
    const names = steps.map((step) => String(step.value));
    return (input, frame) => {
      let cur = input;
      for (const name of names) {
        if (Array.isArray(cur)) return general(input, frame);
        if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, name)) return undefined;
        cur = (cur as Record<string, unknown>)[name];
      }
      if (isSequence(cur) || typeof cur === 'function') return general(input, frame);
      return cur;
    };
  }
  return general;
}

function lookup(input: unknown, key: string): unknown {
  if (Array.isArray(input)) {
    const result = seq();
    for (const item of input) {
      const res = lookup(item, key);
      if (res !== undefined) {
        if (Array.isArray(res)) for (const v of res) result.push(v);
        else result.push(res);
      }
    }
    return result;
  }
  if (input !== null && typeof input === 'object' && Object.prototype.hasOwnProperty.call(input, key)) {
    const v = (input as Record<string, unknown>)[key];
    if (typeof v === 'function') throw BAIL;
    return v;
  }
  return undefined;
}

function compileFilter(stage: Ast): (input: unknown, frame: Frame) => unknown {
  const predicate = stage.expr as Ast;
  if (stage.type !== 'filter' || !predicate) unsupported();
  for (const k of keysOf(stage)) if (!['type', 'expr', 'position'].includes(k)) unsupported();
  if (predicate.type === 'number') {
    const index0 = Math.floor(predicate.value as number);
    if (predicate.predicate !== undefined) unsupported();
    return (value) => {
      const input: unknown[] = Array.isArray(value) ? value : seq(value);
      let results: unknown[] = seq();
      const index = index0 < 0 ? input.length + index0 : index0;
      const item = input[index];
      if (item !== undefined) {
        if (Array.isArray(item)) results = item;
        else results.push(item);
      }
      return results;
    };
  }
  const test = compile(predicate);
  return (value, frame) => {
    const input: unknown[] = Array.isArray(value) ? value : seq(value);
    const results = seq();
    for (let index = 0; index < input.length; index++) {
      const item = input[index];
      let res = test(item, frame);
      if (isNumeric(res)) res = [res];
      if (isArrayOfNumbers(res)) {
        for (const n of res) {
          let ii = Math.floor(n);
          if (ii < 0) ii = input.length + ii;
          if (ii === index) results.push(item);
        }
      } else if (boolean(res)) results.push(item);
    }
    return results;
  };
}

// ---- operators -----------------------------------------------------------------------------------

function compileBinary(ast: Ast): Node {
  const op = String(ast.value);
  const lhs = compile(ast.lhs as Ast);
  const rhs = compile(ast.rhs as Ast);
  switch (op) {
    case 'and':
      return (input, frame) => boolize(lhs(input, frame)) && boolize(rhs(input, frame));
    case 'or':
      return (input, frame) => boolize(lhs(input, frame)) || boolize(rhs(input, frame));
    case '=':
    case '!=': {
      const equal = op === '=';
      return (input, frame) => {
        const l = lhs(input, frame);
        const r = rhs(input, frame);
        if (l === undefined || r === undefined) return false;
        return isDeepEqual(l, r) === equal;
      };
    }
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (input, frame) => {
        const l = lhs(input, frame);
        const r = rhs(input, frame);
        const lt = typeof l;
        const rt = typeof r;
        // anything but two strings or two numbers: JSONata's errors (T2009, T2010) or undefined
        if (l === undefined || r === undefined) {
          if ((lt === 'undefined' || lt === 'string' || lt === 'number') && (rt === 'undefined' || rt === 'string' || rt === 'number')) return undefined;
          throw BAIL;
        }
        if (!((lt === 'string' && rt === 'string') || (lt === 'number' && rt === 'number'))) throw BAIL;
        const a = l as string | number;
        const b = r as string | number;
        return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
      };
    case '&':
      return (input, frame) => {
        const l = lhs(input, frame);
        const r = rhs(input, frame);
        return (l === undefined ? '' : toString(l)) + (r === undefined ? '' : toString(r));
      };
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return (input, frame) => {
        const l = lhs(input, frame);
        const r = rhs(input, frame);
        if ((l !== undefined && !isNumeric(l)) || (r !== undefined && !isNumeric(r))) throw BAIL; // T2001 / T2002
        if (l === undefined || r === undefined) return undefined;
        const a = l as number;
        const b = r as number;
        const result = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
        if (!Number.isFinite(result)) throw BAIL; // D1001
        return result;
      };
    default:
      return unsupported();
  }
}

// ---- functions -----------------------------------------------------------------------------------

const FUNCTIONS: Record<string, { arity: number[]; call: (args: unknown[]) => unknown }> = {
  exists: { arity: [1], call: ([a]) => a !== undefined },
  append: {
    arity: [2],
    call: ([a, b]) => {
      if (a === undefined) return b;
      if (b === undefined) return a;
      const l: unknown[] = Array.isArray(a) ? a : seq(a);
      const r: unknown[] = Array.isArray(b) ? b : [b];
      return l.concat(r); // a plain array, as in jsonata.js
    },
  },
  boolean: { arity: [1], call: ([a]) => boolean(a) },
  not: { arity: [1], call: ([a]) => (a === undefined ? undefined : !boolean(a)) },
  string: { arity: [1], call: ([a]) => (a === undefined ? undefined : toString(a)) },
  trim: {
    arity: [1],
    call: ([a]) => {
      if (a === undefined) return undefined;
      let result = stringArg(a).replace(/[ \t\n\r]+/gm, ' ');
      if (result.charAt(0) === ' ') result = result.substring(1);
      if (result.charAt(result.length - 1) === ' ') result = result.substring(0, result.length - 1);
      return result;
    },
  },
  uppercase: { arity: [1], call: ([a]) => (a === undefined ? undefined : stringArg(a).toUpperCase()) },
  lowercase: { arity: [1], call: ([a]) => (a === undefined ? undefined : stringArg(a).toLowerCase()) },
  length: { arity: [1], call: ([a]) => (a === undefined ? undefined : Array.from(stringArg(a)).length) },
  count: { arity: [1], call: ([a]) => (a === undefined ? 0 : Array.isArray(a) ? a.length : 1) },
};

function stringArg(a: unknown): string {
  if (typeof a !== 'string') throw BAIL; // JSONata's type error (T0410)
  return a;
}

function compileFunction(ast: Ast): Node {
  const procedure = ast.procedure as Ast;
  if (procedure?.type !== 'variable' || keysOf(procedure).some((k) => !['type', 'value', 'position'].includes(k))) unsupported();
  const name = String(procedure.value);
  const fn = Object.prototype.hasOwnProperty.call(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  const args = ((ast.arguments as Ast[]) ?? []).map(compile);
  if (!fn || !fn.arity.includes(args.length)) return unsupported();
  return (input, frame) => {
    // a variable of the same name bound in the expression shadows the built-in: not ours
    for (let f: Frame | undefined = frame; f; f = f.parent) if (f.vars?.has(name)) throw BAIL;
    const values = args.map((a) => a(input, frame));
    for (const v of values) if (typeof v === 'function') throw BAIL;
    return fn.call(values);
  };
}

// ---- casting and comparison (jsonata.js fn.boolean, fn.string, isDeepEqual) ------------------------

function isNumeric(n: unknown): n is number {
  if (typeof n !== 'number') return false;
  if (Number.isNaN(n)) return false;
  if (!Number.isFinite(n)) throw BAIL; // D1001
  return true;
}

function isArrayOfNumbers(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

function boolean(arg: unknown): boolean | undefined {
  if (arg === undefined) return undefined;
  if (Array.isArray(arg)) {
    if (arg.length === 1) return boolean(arg[0]);
    if (arg.length > 1) return arg.some((v) => boolean(v));
    return false;
  }
  if (typeof arg === 'string') return arg.length > 0;
  if (isNumeric(arg)) return arg !== 0;
  if (typeof arg === 'function') throw BAIL;
  if (arg !== null && typeof arg === 'object') return Object.keys(arg).length > 0;
  return arg === true;
}

function boolize(v: unknown): boolean {
  return boolean(v) ?? false;
}

function toString(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'function' || typeof arg === 'bigint') throw BAIL;
  if (typeof arg === 'number' && !Number.isFinite(arg)) throw BAIL; // D3001
  return JSON.stringify(arg, (_key, val: unknown) => {
    if (typeof val === 'function') throw BAIL;
    if (val !== undefined && val !== null && isNumeric(val)) return !Number.isInteger(val) ? Number(val.toPrecision(15)) : val;
    return val;
  });
}

function isDeepEqual(lhs: unknown, rhs: unknown): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let i = 0; i < lhs.length; i++) if (!isDeepEqual(lhs[i], rhs[i])) return false;
      return true;
    }
    // as jsonata.js: own property names, sorted (an array against an object compares their names too)
    const lkeys = Object.getOwnPropertyNames(lhs).sort();
    const rkeys = Object.getOwnPropertyNames(rhs).sort();
    if (lkeys.length !== rkeys.length) return false;
    for (let i = 0; i < lkeys.length; i++) if (lkeys[i] !== rkeys[i]) return false;
    for (const k of lkeys) if (!isDeepEqual((lhs as Record<string, unknown>)[k], (rhs as Record<string, unknown>)[k])) return false;
    return true;
  }
  return false;
}
