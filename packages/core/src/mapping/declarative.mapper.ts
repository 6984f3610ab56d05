import jsonata from 'jsonata';
import type { Mapper } from '../contracts/mapper.js';
import type { SourceRecord } from '../contracts/source.js';
import type { TargetPayload } from '../contracts/target.js';
import { RecordError, type Problem } from '../errors/errors.js';
import { pointerEscape } from '../manifest/ajv.js';
import { readFields } from './read-fields.js';
import { Bail, compileSync } from './sync-jsonata.js';

/** A mapping entry: a JSONata expression over the source record, or a literal. */
export type MappingValue = string | { value: unknown } | number | boolean;

/** Target path (dotted, `name.zh_CN`) → expression or literal. */
export type MappingSpec = Record<string, MappingValue>;

interface CompiledField {
  target: string;
  path: string[];
  source: string;
  evaluate: (data: Record<string, unknown>) => unknown | Promise<unknown>;
  /** Record fields the expression can read; undefined: any. Literals read none. */
  reads: Set<string> | undefined;
}

/**
 * The declarative mapper: each key is a target path, each value a JSONata expression evaluated over the
 * source record's data (or `{ value: literal }`). An empty result (no match) leaves the field out.
 * Expressions compile once; an evaluation error is a {@link RecordError} for that record.
 */
export class DeclarativeMapper implements Mapper {
  /** The record fields the mapping can read (see Mapper.reads); undefined when it may read any. */
  readonly reads: ReadonlySet<string> | undefined;

  private constructor(private readonly fields: CompiledField[]) {
    let reads: Set<string> | undefined = new Set();
    for (const f of fields) {
      if (!f.reads) {
        reads = undefined;
        break;
      }
      for (const name of f.reads) reads.add(name);
    }
    this.reads = reads;
  }

  /** Compiles a mapping; problems carry the file and the JSON pointer of the bad entry. */
  static compile(spec: MappingSpec, file = 'mapping', basePointer = '/mapping'): { mapper: DeclarativeMapper; problems: Problem[] } {
    const problems: Problem[] = [];
    const fields: CompiledField[] = [];
    for (const [target, value] of Object.entries(spec)) {
      const pointer = `${basePointer}/${pointerEscape(target)}`;
      const path = target.split('.');
      if (path.some((p) => p === '')) {
        problems.push({ file, pointer, expected: 'a dotted target path such as name.zh_CN', found: JSON.stringify(target) });
        continue;
      }
      if (typeof value === 'number' || typeof value === 'boolean') {
        fields.push({ target, path, source: JSON.stringify(value), evaluate: () => value, reads: new Set() });
        continue;
      }
      if (value !== null && typeof value === 'object' && 'value' in value) {
        const literal = (value as { value: unknown }).value;
        fields.push({ target, path, source: JSON.stringify(literal), evaluate: () => literal, reads: new Set() });
        continue;
      }
      if (typeof value !== 'string') {
        problems.push({
          file,
          pointer,
          expected: 'a JSONata expression (string) or { value: literal }',
          found: value === null ? 'null' : typeof value,
          hint: 'write a literal as { value: ... }',
        });
        continue;
      }
      try {
        const expr = jsonata(value);
        fields.push({ target, path, source: value, evaluate: compileExpression(expr), reads: readFields(expr.ast()) });
      } catch (e) {
        const err = e as { message?: string; position?: number; token?: string };
        problems.push({
          file,
          pointer,
          expected: 'a valid JSONata expression',
          found: `${JSON.stringify(value)} (${err.message ?? String(e)}${err.position !== undefined ? ` at character ${err.position}` : ''})`,
          hint: 'see https://docs.jsonata.org; quote literal text as "text" or use { value: ... }',
        });
      }
    }
    return { mapper: new DeclarativeMapper(fields), problems };
  }

  /** Target paths this mapper writes. */
  get targets(): string[] {
    return this.fields.map((f) => f.target);
  }

  /** The payload; synchronously unless an expression needed JSONata's own (asynchronous) evaluator. */
  map(record: SourceRecord): TargetPayload | Promise<TargetPayload> {
    const out: TargetPayload = {};
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i]!;
      let result: unknown;
      try {
        result = f.evaluate(record.data);
      } catch (e) {
        throw mappingError(f, record, e);
      }
      if (result instanceof Promise) return this.mapRest(record, out, i, result);
      place(out, f, result, record);
    }
    return out;
  }

  /** The rest of `map` from field `i` on, whose value is still to come. */
  private async mapRest(record: SourceRecord, out: TargetPayload, i: number, pending: Promise<unknown>): Promise<TargetPayload> {
    for (let k = i; k < this.fields.length; k++) {
      const f = this.fields[k]!;
      let result: unknown;
      try {
        result = k === i ? await pending : f.evaluate(record.data);
        if (result instanceof Promise) result = await result;
      } catch (e) {
        throw mappingError(f, record, e);
      }
      place(out, f, result, record);
    }
    return out;
  }
}

function mappingError(f: CompiledField, record: SourceRecord, e: unknown): RecordError {
  return new RecordError(`mapping ${f.target} = ${f.source} failed for record ${record.key}: ${(e as Error).message}`, {
    reason: 'mapping.error',
    cause: e,
    hint: `fix the expression for ${f.target} in the scheme's mapping block`,
  });
}

/** Puts a field's value into the payload; an empty result (no match) leaves the field out. */
function place(out: TargetPayload, f: CompiledField, result: unknown, record: SourceRecord): void {
  if (result === undefined) return;
  if (typeof result === 'function') {
    throw new RecordError(`mapping ${f.target} = ${f.source} gave a function, not a value (record ${record.key})`, {
      reason: 'mapping.error',
    });
  }
  setPath(out, f.path, normalise(result));
}

/** JSONata sequences carry a marker property; payloads get plain arrays. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v, normalise);
  return v;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const created: Record<string, unknown> = {};
      cur[k] = created;
      cur = created;
    } else {
      cur = next as Record<string, unknown>;
    }
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * Compiles an expression: evaluated by the synchronous evaluator (sync-jsonata.ts) where it covers the
 * expression, by JSONata otherwise, and by JSONata for any record the synchronous evaluator gives up on.
 */
function compileExpression(expr: jsonata.Expression): (data: Record<string, unknown>) => unknown {
  const slow = (data: Record<string, unknown>) => expr.evaluate(data);
  const fast = compileSync(expr.ast());
  if (!fast) return slow;
  return (data) => {
    try {
      return fast(data);
    } catch (e) {
      if (e instanceof Bail) return slow(data);
      throw e;
    }
  };
}
