import jsonata from 'jsonata';
import type { Mapper } from '../contracts/mapper.js';
import type { SourceRecord } from '../contracts/source.js';
import type { TargetPayload } from '../contracts/target.js';
import { RecordError, type Problem } from '../errors/errors.js';
import { pointerEscape } from '../manifest/ajv.js';

/** A mapping entry: a JSONata expression over the source record, or a literal. */
export type MappingValue = string | { value: unknown } | number | boolean;

/** Target path (dotted, `name.zh_CN`) → expression or literal. */
export type MappingSpec = Record<string, MappingValue>;

interface CompiledField {
  target: string;
  path: string[];
  source: string;
  /** JSONata's own evaluation of the expression, or the literal. */
  evaluate: (data: Record<string, unknown>) => unknown;
}

/**
 * The declarative mapper: each key is a target path, each value a JSONata expression evaluated over the
 * source record's data (or `{ value: literal }`). An empty result (no match) leaves the field out.
 * Expressions compile once; an evaluation error is a {@link RecordError} for that record.
 */
export class DeclarativeMapper implements Mapper {
  private constructor(private readonly fields: CompiledField[]) {}

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
        fields.push({ target, path, source: JSON.stringify(value), evaluate: () => value });
        continue;
      }
      if (value !== null && typeof value === 'object' && 'value' in value) {
        const literal = (value as { value: unknown }).value;
        fields.push({ target, path, source: JSON.stringify(literal), evaluate: () => literal });
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
        fields.push({ target, path, source: value, evaluate: (data) => expr.evaluate(data) });
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

  /** The payload: each expression evaluated by JSONata, in the mapping's order. */
  async map(record: SourceRecord): Promise<TargetPayload> {
    const out: TargetPayload = {};
    for (const f of this.fields) {
      let result: unknown;
      try {
        result = await f.evaluate(record.data);
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
