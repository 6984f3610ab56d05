import type { Problem } from '../errors/errors.js';
import { pointerEscape } from '../manifest/ajv.js';
import type { ConnectorManifest, JsonSchema } from '../manifest/manifest-types.js';

export interface ConnectorContractOptions {
  /** A connection block that validates against the manifest (defaults are applied). */
  connection: Record<string, unknown>;
  /**
   * Sample records per stream id: at least one for every declared stream; each must validate against
   * the stream's record schema. Records read from the connector's simulator show the most.
   * @example { company: records.map((r) => r.data) }
   */
  sampleRecords?: Record<string, unknown[]>;
  /**
   * Sample payloads per operation id: at least one for every declared operation; each must validate
   * against the operation's input schema.
   * @example { 'merchant.save': [{ code: 'test202201', name: { zh_CN: '测试客户' } }] }
   */
  samplePayloads?: Record<string, unknown[]>;
}

export function samplePointerOf(what: 'stream' | 'operation', id: string): string {
  return `/${what === 'stream' ? 'sampleRecords' : 'samplePayloads'}/${pointerEscape(id)}`;
}

/**
 * What the contract would have nothing to check with: a declared stream without sample records, an
 * operation without sample payloads, a connector that declares neither, and samples for a stream or
 * operation the manifest does not declare (a typo would otherwise check nothing). Empty when none.
 */
export function sampleProblems(manifest: ConnectorManifest, options: Pick<ConnectorContractOptions, 'sampleRecords' | 'samplePayloads'>): Problem[] {
  const file = `${manifest.id} contract test`;
  const problems: Problem[] = [];
  if (manifest.streams.length === 0 && manifest.operations.length === 0) {
    problems.push({
      file: `${manifest.id} manifest`,
      pointer: '',
      expected: 'at least one stream or operation',
      found: 'neither',
      hint: 'a connector offers streams to read, operations to write, or both',
    });
  }
  const kinds = [
    { what: 'stream', option: 'sampleRecords', samples: options.sampleRecords ?? {}, declared: manifest.streams, schema: 'record' },
    { what: 'operation', option: 'samplePayloads', samples: options.samplePayloads ?? {}, declared: manifest.operations, schema: 'input' },
  ] as const;
  for (const k of kinds) {
    for (const d of k.declared) {
      const samples = k.samples[d.id];
      if (!Array.isArray(samples) || samples.length === 0) {
        problems.push({
          file,
          pointer: samplePointerOf(k.what, d.id),
          expected: `sample ${k.what === 'stream' ? 'records' : 'payloads'} for ${k.what} ${d.id}`,
          found: samples === undefined ? 'none' : Array.isArray(samples) ? 'an empty list' : typeof samples,
          hint: `pass ${k.option}: { '${d.id}': [...] } to describeConnectorContract (${k.what === 'stream' ? 'records read from the simulator' : 'payloads the operation accepts'}), so its ${k.schema} schema is checked against something`,
        });
      }
    }
    const ids = new Set(k.declared.map((d) => d.id));
    for (const id of Object.keys(k.samples)) {
      if (!ids.has(id)) {
        problems.push({
          file,
          pointer: `/${k.option}/${pointerEscape(id)}`,
          expected: `one of the manifest's ${k.what}s (${[...ids].join(', ') || 'none'})`,
          found: JSON.stringify(id),
        });
      }
    }
  }
  return problems;
}

/**
 * Keys the manifest names that its schemas do not have: a stream's `primaryKey` and `cursor.field` must
 * be properties of its `record` schema, an operation's `upsert.key` a property of its `input` schema.
 * Empty when all are.
 */
export function keyProblems(manifest: ConnectorManifest): Problem[] {
  const file = `${manifest.id} manifest`;
  const problems: Problem[] = [];
  const check = (schema: JsonSchema, field: string, pointer: string, what: string, schemaPointer: string) => {
    const properties = schema.properties ?? {};
    if (Object.hasOwn(properties, field)) return;
    const known = Object.keys(properties);
    problems.push({
      file,
      pointer,
      expected: `${what} to be a property of ${schemaPointer} (${known.length ? `it has ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''}` : 'it has none'})`,
      found: JSON.stringify(field),
      hint: `add "${field}" to ${schemaPointer}/properties, or name the field the system really sends`,
    });
  };
  manifest.streams.forEach((s, i) => {
    check(s.record, s.primaryKey, `/streams/${i}/primaryKey`, `the primary key of stream ${s.id}`, `/streams/${i}/record`);
    if (s.cursor) check(s.record, s.cursor.field, `/streams/${i}/cursor/field`, `the cursor field of stream ${s.id}`, `/streams/${i}/record`);
  });
  manifest.operations.forEach((o, i) => {
    if (o.upsert) check(o.input, o.upsert.key, `/operations/${i}/upsert/key`, `the upsert key of operation ${o.id}`, `/operations/${i}/input`);
  });
  return problems;
}
