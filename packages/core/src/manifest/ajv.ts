import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import type { Problem } from '../errors/errors.js';

const addFormats = formatsModule.default;

/** An ajv instance for qiao's schemas: 2020-12, all errors, qiao's annotation keywords allowed. */
export function createAjv(options: { useDefaults?: boolean; coerceTypes?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    strict: false,
    useDefaults: options.useDefaults ?? false,
    coerceTypes: options.coerceTypes ?? false,
  });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  ajv.addKeyword({ keyword: 'x-label', schemaType: 'string' });
  return ajv;
}

const compiled = new Map<string, { ajv: Ajv2020; byText: Map<string, ValidateFunction> }>();

/**
 * Compiles a schema once per process and options: one ajv instance per option set (its meta-schema is
 * compiled once) and the validators by the schema's text. Loading a scheme again (`qiao serve`, every
 * run) then costs no compilation. Throws as `ajv.compile` does for an invalid schema.
 */
export function compileSchema(schema: object, options: { useDefaults?: boolean; coerceTypes?: boolean } = {}): ValidateFunction {
  const optionsKey = `${options.useDefaults ?? false}|${options.coerceTypes ?? false}`;
  let entry = compiled.get(optionsKey);
  if (!entry) {
    entry = { ajv: createAjv(options), byText: new Map() };
    compiled.set(optionsKey, entry);
  }
  const text = JSON.stringify(schema);
  let validate = entry.byText.get(text);
  if (!validate) {
    // a copy: ajv keeps what it compiles, and the caller's object may change later
    validate = entry.ajv.compile(JSON.parse(text) as object);
    entry.byText.set(text, validate);
  }
  return validate;
}

/** Turns ajv errors into qiao problems (file, JSON pointer, expected, found, hint). */
export function problemsFromAjv(
  errors: ErrorObject[] | null | undefined,
  file: string,
  data: unknown,
  basePointer = '',
  hintFor?: (e: ErrorObject) => string | undefined,
): Problem[] {
  if (!errors) return [];
  const out: Problem[] = [];
  const seen = new Set<string>();
  // An anyOf/oneOf whose branches only require properties reads better as one problem naming the choices.
  const choices = errors.filter(
    (e) =>
      (e.keyword === 'anyOf' || e.keyword === 'oneOf') &&
      Array.isArray(e.schema) &&
      (e.schema as { required?: string[] }[]).every((b) => Array.isArray(b.required) && Object.keys(b).length === 1),
  );
  for (const c of choices) {
    const options = (c.schema as { required: string[] }[]).map((b) => b.required.join(' + '));
    out.push({
      file,
      pointer: basePointer + c.instancePath,
      expected: `one of: ${options.join(', or ')}`,
      found: 'none of them',
      hint: `set ${options.join(', or ')}`,
    });
  }
  for (const e of errors) {
    if (choices.some((c) => e === c || e.schemaPath.startsWith(`${c.schemaPath}/`))) continue;
    // anyOf/oneOf umbrella errors repeat what their branches say; keep them only if alone.
    if ((e.keyword === 'anyOf' || e.keyword === 'oneOf') && errors.length > 1) continue;
    let pointer = basePointer + e.instancePath;
    let expected: string;
    let found: string | undefined;
    const value = valueAt(data, e.instancePath);
    switch (e.keyword) {
      case 'required':
        pointer += `/${String(e.params.missingProperty)}`;
        expected = `the property "${String(e.params.missingProperty)}"`;
        found = 'nothing';
        break;
      case 'additionalProperties':
        pointer += `/${String(e.params.additionalProperty)}`;
        expected = `no property "${String(e.params.additionalProperty)}" (not a known field)`;
        found = describe(valueAt(data, `${e.instancePath}/${String(e.params.additionalProperty)}`));
        break;
      case 'type':
        expected = `a value of type ${String(e.params.type)}`;
        found = describe(value);
        break;
      case 'enum':
        expected = `one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        found = describe(value);
        break;
      case 'const':
        expected = `${JSON.stringify(e.params.allowedValue)}`;
        found = describe(value);
        break;
      default:
        expected = `a value that ${e.message ?? e.keyword}`;
        found = describe(value);
    }
    const key = `${pointer}|${expected}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const hint = hintFor?.(e);
    out.push({ file, pointer, expected, ...(found !== undefined ? { found } : {}), ...(hint ? { hint } : {}) });
  }
  return out;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value)}`;
  return `${typeof value} ${String(value)}`;
}

export function valueAt(data: unknown, pointer: string): unknown {
  if (!pointer) return data;
  let cur: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function pointerEscape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export type { ValidateFunction };
