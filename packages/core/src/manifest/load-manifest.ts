import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError, type Problem } from '../errors/errors.js';
import { compileSchema, problemsFromAjv } from './ajv.js';
import { connectorManifestSchema } from './connector-manifest.schema.js';
import type { ConnectorManifest, JsonSchema } from './manifest-types.js';


const validateManifest = compileSchema(connectorManifestSchema);

/**
 * Validates a parsed manifest against the meta-schema, then checks that every embedded schema
 * (connection, params, record, input) compiles and that ids are unique. Reports every problem at once.
 * @param file where the manifest came from, for messages
 */
export function loadManifest(data: unknown, file = 'manifest.json'): ConnectorManifest {
  const problems: Problem[] = [];
  if (!validateManifest(data)) {
    problems.push(...problemsFromAjv(validateManifest.errors, file, data));
    throw new InputError(problems, { system: file });
  }
  const m = data as unknown as ConnectorManifest;
  const checkSchema = (schema: JsonSchema, pointer: string) => {
    try {
      compileSchema(schema);
    } catch (e) {
      problems.push({ file, pointer, expected: 'a valid JSON Schema', found: (e as Error).message });
    }
  };
  checkSchema(m.connection, '/connection');
  const ids = new Set<string>();
  m.streams.forEach((s, i) => {
    if (ids.has(s.id)) problems.push({ file, pointer: `/streams/${i}/id`, expected: 'a unique id', found: s.id });
    ids.add(s.id);
    checkSchema(s.params, `/streams/${i}/params`);
    checkSchema(s.record, `/streams/${i}/record`);
  });
  m.operations.forEach((o, i) => {
    if (ids.has(o.id)) problems.push({ file, pointer: `/operations/${i}/id`, expected: 'a unique id', found: o.id });
    ids.add(o.id);
    checkSchema(o.input, `/operations/${i}/input`);
  });
  if (problems.length) throw new InputError(problems, { system: file });
  return m;
}

/** Reads and validates a manifest file (`new URL('../manifest.json', import.meta.url)` in a connector). */
export function loadManifestFile(url: URL | string): ConnectorManifest {
  const path = url instanceof URL ? fileURLToPath(url) : url;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError([{ file: path, pointer: '', expected: 'a readable JSON file', found: (e as Error).message }]);
  }
  return loadManifest(data, path);
}

/** The names of the connection fields marked `x-secret`. */
export function secretFields(manifest: ConnectorManifest): string[] {
  return Object.entries(manifest.connection.properties ?? {})
    .filter(([, s]) => s['x-secret'] === true)
    .map(([k]) => k);
}
