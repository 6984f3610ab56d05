import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { ConnectionCheckToken, ConnectionToken, type ConnectionContext, type ConnectorPlugin } from '../contracts/connector-plugin.js';
import { silentLogger } from '../contracts/logger.js';
import { sourceToken } from '../contracts/source.js';
import { targetToken } from '../contracts/target.js';
import { Limiter } from '../http/limiter.js';
import { defaultRetryPolicy } from '../http/retry-policy.js';
import { createAjv } from '../manifest/ajv.js';
import { loadManifest, secretFields } from '../manifest/load-manifest.js';
import type { JsonSchema } from '../manifest/manifest-types.js';

export interface ConnectorContractOptions {
  /** A connection block that validates against the manifest (defaults are applied). */
  connection: Record<string, unknown>;
  /** Sample records per stream id; each must validate against the stream's record schema. */
  sampleRecords?: Record<string, unknown[]>;
  /** Sample payloads per operation id; each must validate against the operation's input schema. */
  samplePayloads?: Record<string, unknown[]>;
}

/**
 * The contract every connector package runs on itself: the manifest validates; labels are present;
 * secrets are marked; every declared stream and operation is registered; sample records and payloads
 * validate against their schemas.
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

    for (const s of m.streams) {
      const samples = options.sampleRecords?.[s.id] ?? [];
      it(`stream ${s.id}: sample records validate against its record schema (${samples.length})`, () => {
        const validate = createAjv().compile(s.record);
        for (const r of samples) {
          validate(r);
          expect(validate.errors ?? []).toEqual([]);
        }
      });
    }
    for (const o of m.operations) {
      const samples = options.samplePayloads?.[o.id] ?? [];
      it(`operation ${o.id}: sample payloads validate against its input schema (${samples.length})`, () => {
        const validate = createAjv().compile(o.input);
        for (const p of samples) {
          validate(p);
          expect(validate.errors ?? []).toEqual([]);
        }
      });
    }
  });
}
