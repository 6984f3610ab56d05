import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { ConnectionCheckToken, ConnectionToken, type ConnectionContext, type ConnectorPlugin } from '../contracts/connector-plugin.js';
import { silentLogger } from '../contracts/logger.js';
import { sourceToken } from '../contracts/source.js';
import { targetToken } from '../contracts/target.js';
import { Limiter } from '../http/limiter.js';
import { defaultRetryPolicy } from '../http/retry-policy.js';
import { formatProblem, type Problem } from '../errors/errors.js';
import { createAjv } from '../manifest/ajv.js';
import { keyProblems, samplePointerOf, sampleProblems, type ConnectorContractOptions } from './connector-contract-checks.js';

export { keyProblems, sampleProblems, type ConnectorContractOptions } from './connector-contract-checks.js';
import { loadManifest, secretFields } from '../manifest/load-manifest.js';
import type { ConnectorManifest, JsonSchema } from '../manifest/manifest-types.js';

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
      const stray = noSamples.filter((p) => !m.streams.some((s) => p.pointer === samplePointerOf('stream', s.id)) && !m.operations.some((o) => p.pointer === samplePointerOf('operation', o.id)));
      failOn(stray);
    });

    it('declares primary keys, cursor fields and upsert keys that are fields of their schemas', () => {
      failOn(keyProblems(m));
    });

    for (const s of m.streams) {
      const samples = options.sampleRecords?.[s.id] ?? [];
      it(`stream ${s.id}: sample records validate against its record schema (${samples.length})`, () => {
        failOn(samplesAt(samplePointerOf('stream', s.id)));
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
        failOn(samplesAt(samplePointerOf('operation', o.id)));
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

