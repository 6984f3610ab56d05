import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { ConnectionCheckToken, ConnectionToken, type ConnectionContext, type ConnectorPlugin } from '../contracts/connector-plugin.js';
import { silentLogger } from '../contracts/logger.js';
import { sourceToken } from '../contracts/source.js';
import { targetToken } from '../contracts/target.js';
import { Limiter } from '../http/limiter.js';
import { defaultRetryPolicy } from '../http/retry-policy.js';
import { formatProblem, type Problem } from '../errors/errors.js';
import { createAjv, pointerEscape } from '../manifest/ajv.js';
import { loadManifest, secretFields } from '../manifest/load-manifest.js';
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

/**
 * The contract every connector package runs on itself: the manifest validates; labels are present;
 * secrets are marked; every declared stream and operation is registered; primary keys, cursors and
 * upsert keys are fields of their schemas; every stream and operation has samples, and they validate
 * against their schemas. A contract with nothing to check fails.
 *
 * @example
 * // test/contract.test.ts of a connector package
 * describeConnectorContract(plugin, {
 *   connection: { baseUrl: 'http://127.0.0.1:9', clientId: 'demo', clientSecret: 'demo' },
 *   sampleRecords: { company: samples },
 * });
 */
export function describeConnectorContract(plugin: ConnectorPlugin, options: ConnectorContractOptions): void {
  const m = plugin.manifest;
  describe(`connector contract: ${m.id}`, () => {
    it('has a manifest that validates against the meta-schema', () => {
      expect(() => loadManifest(structuredClone(m), `${m.id} manifest`)).not.toThrow();
    });

    it('labels every connection field, param and input field (title)', () => {
      const unlabeled: string[] = [];
      const walk = (schema: JsonSchema | undefined, path: string) => {
        for (const [k, s] of Object.entries(schema?.properties ?? {})) {
          if (!s.title) unlabeled.push(`${path}/${k}`);
        }
      };
      walk(m.connection, 'connection');
      for (const s of m.streams) walk(s.params, `streams/${s.id}/params`);
      for (const o of m.operations) walk(o.input, `operations/${o.id}/input`);
      expect(unlabeled).toEqual([]);
    });

    it('accepts the sample connection', () => {
      const validate = createAjv({ useDefaults: true, coerceTypes: true }).compile(m.connection);
      const ok = validate(structuredClone(options.connection));
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });

    it('registers every declared stream and operation, and a connection check', () => {
      const config = structuredClone(options.connection);
      createAjv({ useDefaults: true, coerceTypes: true }).compile(m.connection)(config);
      const ctx: ConnectionContext = {
        connector: m.id,
        config,
        limiter: new Limiter(m.limits),
        retry: defaultRetryPolicy,
        logger: silentLogger,
        secrets: secretFields(m).map((f) => String(config[f] ?? '')).filter(Boolean),
      };
      const c = rootContainer.createChildContainer();
      c.register(ConnectionToken, { useValue: ctx });
      plugin.register(c);
      for (const s of m.streams) {
        expect(c.isRegistered(sourceToken(s.id)), `stream ${s.id} registered`).toBe(true);
        expect(typeof c.resolve(sourceToken(s.id)).read).toBe('function');
      }
      for (const o of m.operations) {
        expect(c.isRegistered(targetToken(o.id)), `operation ${o.id} registered`).toBe(true);
        expect(typeof c.resolve(targetToken(o.id)).write).toBe('function');
      }
      expect(c.isRegistered(ConnectionCheckToken)).toBe(true);
    });

    const noSamples = sampleProblems(m, options);
    const samplesAt = (pointer: string) => noSamples.filter((p) => p.pointer === pointer);

    it('declares a stream or an operation, and has samples only for declared ones', () => {
      const stray = noSamples.filter((p) => !m.streams.some((s) => p.pointer === samplesPointer('stream', s.id)) && !m.operations.some((o) => p.pointer === samplesPointer('operation', o.id)));
      failOn(stray);
    });

    it('declares primary keys, cursor fields and upsert keys that are fields of their schemas', () => {
      failOn(keyProblems(m));
    });

    for (const s of m.streams) {
      const samples = options.sampleRecords?.[s.id] ?? [];
      it(`stream ${s.id}: sample records validate against its record schema (${samples.length})`, () => {
        failOn(samplesAt(samplesPointer('stream', s.id)));
        const validate = createAjv().compile(s.record);
        samples.forEach((r, i) => {
          validate(r);
          expect(validate.errors ?? [], `sample record ${i} of stream ${s.id}`).toEqual([]);
        });
      });
    }
    for (const o of m.operations) {
      const samples = options.samplePayloads?.[o.id] ?? [];
      it(`operation ${o.id}: sample payloads validate against its input schema (${samples.length})`, () => {
        failOn(samplesAt(samplesPointer('operation', o.id)));
        const validate = createAjv().compile(o.input);
        samples.forEach((p, i) => {
          validate(p);
          expect(validate.errors ?? [], `sample payload ${i} of operation ${o.id}`).toEqual([]);
        });
      });
    }
  });
}

/** Fails the test with every problem, one per line, as `qiao validate` prints them. */
function failOn(problems: Problem[]): void {
  if (problems.length === 0) return;
  throw new Error(`${problems.length === 1 ? '1 problem' : `${problems.length} problems`}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
}

function samplesPointer(what: 'stream' | 'operation', id: string): string {
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
          pointer: samplesPointer(k.what, d.id),
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
