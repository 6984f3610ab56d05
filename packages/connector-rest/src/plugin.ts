import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { instanceCachingFactory, type DependencyContainer, type InjectionToken } from 'tsyringe';
import {
  ConnectionCheckToken,
  ConnectionToken,
  InputError,
  sourceToken,
  targetToken,
  type BindContext,
  type ConnectorManifest,
  type ConnectorPlugin,
  type Diagnosis,
  type JsonSchema,
} from '@qiao/core';
import { RestConnectionCheck } from './check.js';
import { loadRestManifest } from './manifest/load-rest-manifest.js';
import type { RestManifest } from './manifest/rest-manifest-types.js';
import { RestWriteTarget } from './operations/rest-write.operation.js';
import { RestStreamSource, DETAIL_GONE } from './streams/rest.stream.js';
import { NOT_FOUND, RestClient } from './transport/rest-client.js';

export const RestClientToken: InjectionToken<RestClient> = Symbol.for('qiao.rest.RestClient');

const MANIFEST_FIELD: JsonSchema = {
  title: 'REST manifest',
  description:
    'The manifest file declaring the system: a path relative to the scheme file (./crm.rest.yaml), or a package path (@qiao/connector-rest/examples/okki.company.rest.yaml).',
  type: 'string',
  minLength: 1,
};

/**
 * The connector as `qiao connectors` lists it, before a scheme names its manifest: one connection
 * field, `manifest`. The secret-looking fields listed here let a scheme that fails before its manifest
 * is read still hide their values from the problems it reports.
 */
export const manifest: ConnectorManifest = {
  id: 'rest',
  name: 'REST (declarative manifest)',
  version: '0.1.0',
  description:
    'Any REST API declared in a manifest file (connection, auth, envelope, records, pagination, detail call, incremental window, normalisation, limits, upsert writes): no code per system. The streams and operations are those of the manifest that connection.manifest names.',
  connection: {
    type: 'object',
    required: ['manifest'],
    additionalProperties: true,
    properties: {
      manifest: MANIFEST_FIELD,
      ...Object.fromEntries(['clientSecret', 'appSecret', 'apiKey', 'token', 'password', 'secret'].map((k) => [k, { type: 'string', 'x-secret': true }])),
    },
  },
  limits: { requestsPerSecond: 10, concurrency: 4 },
  streams: [],
  operations: [],
};

/** The file a connection's `manifest` names: relative to the scheme's folder, absolute, or a package path. */
export function manifestPath(spec: string, schemeFile: string): string {
  if (isAbsolute(spec)) return spec;
  if (spec.startsWith('./') || spec.startsWith('../') || !/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*\//i.test(spec)) return resolve(dirname(schemeFile), spec);
  for (const from of [resolve(dirname(schemeFile), 'package.json'), import.meta.url]) {
    try {
      return createRequire(from).resolve(spec);
    } catch {
      // next
    }
  }
  return resolve(dirname(schemeFile), spec);
}

/** The core manifest of a REST manifest: what the scheme's stream, params and connection are checked against. */
export function toConnectorManifest(m: RestManifest): ConnectorManifest {
  const connection = structuredClone(m.connection);
  connection.properties = { manifest: MANIFEST_FIELD, ...connection.properties };
  connection.required = [...new Set(['manifest', ...(connection.required ?? [])])];
  return {
    id: 'rest',
    name: m.name,
    version: m.version,
    ...(m.description !== undefined ? { description: m.description } : {}),
    connection,
    limits: m.limits ?? { requestsPerSecond: 10, concurrency: 4 },
    streams: m.streams.map((s) => ({
      id: s.id,
      label: s.label,
      ...(s.description !== undefined ? { description: s.description } : {}),
      api: s.request.path,
      method: s.request.method === 'POST' ? 'POST' : 'GET',
      params: s.params ?? { type: 'object' },
      primaryKey: s.primaryKey,
      ...(s.incremental ? { cursor: { field: s.incremental.cursorField, format: s.incremental.format, timezone: s.incremental.timezone ?? 'UTC' } } : {}),
      ...(s.detail ? { detail: { api: s.detail.path, key: s.primaryKey, ...(s.detail.label ? { label: s.detail.label } : {}) } } : {}),
      ...(s.deletions ? { deletions: { label: s.deletions.label, ...(s.deletions.description ? { description: s.deletions.description } : {}) } } : {}),
      record: s.record ?? { type: 'object' },
    })),
    operations: (m.operations ?? []).map((o) => ({
      id: o.id,
      label: o.label,
      ...(o.description !== undefined ? { description: o.description } : {}),
      api: o.insert.path,
      method: o.insert.method === 'GET' ? 'GET' : 'POST',
      input: o.input,
      upsert: { key: o.key, lookup: o.lookup.request.path },
    })),
  };
}

/** Diagnoses of a manifest-declared system, by its id. */
export function diagnosesFor(id: string): Diagnosis[] {
  return [
    { reason: `${id}.rate_limited`, hint: `The system refused requests for its rate limit: lower source/target limits in the scheme (requestsPerSecond, concurrency).` },
    { reason: `${id}.${DETAIL_GONE}`, hint: 'Deleted between the list and the detail call: nothing to do; it is skipped.' },
    { reason: `${id}.${NOT_FOUND}`, hint: 'The system does not know this record: check the key, or whether it was deleted.' },
  ];
}

/** The plugin for one REST manifest: its transport (one per connection), streams, operations and check. */
export function restPlugin(m: RestManifest): ConnectorPlugin {
  return {
    manifest: toConnectorManifest(m),
    diagnoses: diagnosesFor(m.id),
    register(container: DependencyContainer): void {
      container.register(RestClientToken, { useFactory: instanceCachingFactory((c) => new RestClient(m, c.resolve(ConnectionToken))) });
      for (const s of m.streams) {
        container.register(sourceToken(s.id), { useFactory: (c) => new RestStreamSource(c.resolve(RestClientToken), s, c.resolve(ConnectionToken)) });
      }
      for (const o of m.operations ?? []) {
        container.register(targetToken(o.id), { useFactory: (c) => new RestWriteTarget(c.resolve(RestClientToken), o) });
      }
      container.register(ConnectionCheckToken, { useFactory: (c) => new RestConnectionCheck(c.resolve(RestClientToken), m) });
    },
  };
}

/** Binds the connector to the manifest a scheme's connection names (core calls it while loading a scheme). */
export function bind(connection: Record<string, unknown>, context: BindContext): ConnectorPlugin {
  const spec = connection.manifest;
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new InputError([
      {
        file: context.file,
        pointer: `${context.pointer}/manifest`,
        expected: 'the path of a REST manifest file (connection.manifest)',
        found: spec === undefined ? 'nothing' : JSON.stringify(spec),
        hint: 'e.g. manifest: ./crm.rest.yaml (relative to this scheme), or @qiao/connector-rest/examples/okki.company.rest.yaml',
      },
    ]);
  }
  return restPlugin(loadRestManifest(manifestPath(spec.trim(), context.file)));
}

/** The `rest` connector: a manifest-only connector bound to each scheme's manifest file. */
export const plugin: ConnectorPlugin = {
  manifest,
  register() {
    // Nothing to register before a scheme binds a manifest (see bind).
  },
  bind,
};
