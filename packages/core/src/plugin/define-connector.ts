import { instanceCachingFactory, type DependencyContainer, type InjectionToken } from 'tsyringe';
import { ConnectionCheckToken, ConnectionToken, type ConnectionContext, type ConnectorPlugin, type ConnectorTesting } from '../contracts/connector-plugin.js';
import type { Diagnosis } from '../contracts/diagnosis.js';
import { sourceToken, type DeletedRecord, type ReadContext, type Source, type SourceRecord } from '../contracts/source.js';
import {
  removerToken,
  targetToken,
  type BatchItem,
  type BatchResult,
  type PreflightContext,
  type PreflightFinding,
  type RemoveContext,
  type RemoveOutcome,
  type Remover,
  type Target,
  type TargetPayload,
  type WriteContext,
  type WriteResult,
} from '../contracts/target.js';
import { InputError, type Problem } from '../errors/errors.js';
import { loadManifest, loadManifestFile } from '../manifest/load-manifest.js';
import type { ConnectorManifest } from '../manifest/manifest-types.js';
import { SDK_MARK, sdkIdentity } from './sdk.js';

/**
 * What every stream, operation and check of a connector gets: the connection's context (its validated
 * config, limiter, retry policy, logger, side) and the client `connect` built for it.
 */
export interface ConnectorConnection<Client = unknown> extends ConnectionContext {
  /** What {@link ConnectorDefinition.connect} returned for this connection, built on first use. */
  readonly client: Client;
  /**
   * Resolves a token from this connection's DI container. Only for connectors that keep tsyringe
   * classes of their own (the built-in ones); a plugin written with plain functions never needs it.
   */
  resolve<T>(token: InjectionToken<T>): T;
}

/** A class whose constructor takes the connection. */
export type ConnectionClass<T, Client> = new (conn: ConnectorConnection<Client>) => T;
/** A function that builds the thing from the connection. */
export type ConnectionFactory<T, Client> = (conn: ConnectorConnection<Client>) => T;

/** A stream written as plain functions; `conn` is the connection it reads from. */
export interface StreamDefinition<Client = unknown> {
  /** Yields the stream's records (see {@link Source.read}). */
  read(ctx: ReadContext, conn: ConnectorConnection<Client>): AsyncIterable<SourceRecord>;
  /** Optional: the records deleted in the window `read` covers (see {@link Source.readDeleted}). */
  readDeleted?(ctx: ReadContext, conn: ConnectorConnection<Client>): AsyncIterable<DeletedRecord>;
}

/**
 * A stream: an object of plain functions ({@link StreamDefinition}), a class taking the connection, or a
 * function returning a {@link Source}.
 */
export type StreamImplementation<Client = unknown> = StreamDefinition<Client> | ConnectionClass<Source, Client> | ConnectionFactory<Source, Client>;

/** An operation written as plain functions; `conn` is the connection it writes to. */
export interface OperationDefinition<Client = unknown> {
  /** Writes one payload, idempotently (see {@link Target.write}). */
  write(payload: TargetPayload, ctx: WriteContext, conn: ConnectorConnection<Client>): Promise<WriteResult>;
  /** Optional: several payloads in one call (see {@link Target.writeBatch}); needs `batch` in the manifest. */
  writeBatch?(items: BatchItem[], conn: ConnectorConnection<Client>): Promise<BatchResult[]>;
  /** Optional: what `qiao check` verifies beyond credentials (see {@link Target.preflight}). */
  preflight?(ctx: PreflightContext, conn: ConnectorConnection<Client>): Promise<PreflightFinding[]>;
  /** Optional: gets the connection ready while the source is read (see {@link Target.warmUp}). */
  warmUp?(signal: AbortSignal, conn: ConnectorConnection<Client>): Promise<void>;
  /** Optional: stops a record this operation wrote, for `target.onDelete: stop`; needs `remove` in the manifest. */
  remove?(ctx: RemoveContext, conn: ConnectorConnection<Client>): Promise<{ outcome: RemoveOutcome }>;
  /** Optional: starts a stopped record again. */
  restore?(ctx: RemoveContext, conn: ConnectorConnection<Client>): Promise<{ outcome: RemoveOutcome }>;
}

/**
 * An operation: an object of plain functions ({@link OperationDefinition}), a class taking the
 * connection, or a function returning a {@link Target}.
 */
export type OperationImplementation<Client = unknown> = OperationDefinition<Client> | ConnectionClass<Target, Client> | ConnectionFactory<Target, Client>;

/** A remover kept apart from its operation: a class or function returning a {@link Remover}. */
export type RemoverImplementation<Client = unknown> = ConnectionClass<Remover, Client> | ConnectionFactory<Remover, Client>;

/**
 * A connector, the way its author writes it: the manifest, and plain functions or classes for what it
 * declares. Core owns the one DI container and does the registering.
 *
 * @example
 * export default defineConnector({
 *   manifest: new URL('../manifest.json', import.meta.url),
 *   connect: (conn) => new ShopClient(conn),
 *   streams: { orders: { read: (ctx, conn) => conn.client.orders(ctx) } },
 *   operations: { 'orders.save': { write: (payload, ctx, conn) => conn.client.save(payload, ctx) } },
 *   check: (conn, signal) => conn.client.whoami(signal),
 * });
 */
export interface ConnectorDefinition<Client = unknown> {
  /**
   * The manifest: the object itself, or the URL or path of `manifest.json`
   * (`new URL('../manifest.json', import.meta.url)`). It is validated against core's meta-schema.
   */
  manifest: ConnectorManifest | Record<string, unknown> | URL | string;
  /**
   * Builds this connection's client (its transport: auth, token cache, the requests through
   * `conn.limiter`), once per connection and on first use; streams, operations and the check find it
   * as `conn.client`.
   * @default no client (`conn.client` is undefined)
   */
  connect?: (conn: ConnectionContext) => Client;
  /** One implementation per stream of the manifest, by stream id. */
  streams?: Record<string, StreamImplementation<Client>>;
  /** One implementation per operation of the manifest, by operation id. */
  operations?: Record<string, OperationImplementation<Client>>;
  /** Removers kept apart from their operations, by operation id (an operation object may have `remove` instead). */
  removers?: Record<string, RemoverImplementation<Client>>;
  /**
   * `qiao check`: authenticates and makes one cheap call; resolves with a one-line description of
   * what it did, rejects with `ConnectorAuthError` (credentials refused) or `RetryableError`
   * (unreachable). `conn.side` says whether the connection is a scheme's source or target.
   */
  check?: (conn: ConnectorConnection<Client>, signal?: AbortSignal) => Promise<string>;
  /** What this connector's error reasons mean and what to do (see {@link Diagnosis}). */
  diagnoses?: readonly Diagnosis[];
  /** Alias of {@link diagnoses}. */
  diagnose?: readonly Diagnosis[];
  /** How the test kit reaches a system to test against (see {@link ConnectorPlugin.testing}). */
  testing?: ConnectorTesting;
  /**
   * Also registers the client under this token, for connectors whose own classes inject it.
   * @default none
   */
  clientToken?: InjectionToken<Client>;
}

/** The token every connection's client (from `connect`) is registered under. */
export const ClientToken: InjectionToken<unknown> = Symbol.for('qiao.Client');

/**
 * Turns a {@link ConnectorDefinition} into the {@link ConnectorPlugin} a connector package exports as
 * its default. Checks at once that every stream and operation the manifest declares has an
 * implementation and nothing else does; throws an `InputError` listing every problem otherwise.
 */
export function defineConnector<Client = unknown>(definition: ConnectorDefinition<Client>): ConnectorPlugin {
  const manifest = manifestOf(definition.manifest);
  const problems = definitionProblems(manifest, definition);
  if (problems.length) throw new InputError(problems, { system: `connector ${manifest.id}` });
  const plugin: ConnectorPlugin = {
    manifest,
    register: (container) => register(container, manifest, definition),
    diagnoses: definition.diagnoses ?? definition.diagnose ?? [],
    ...(definition.testing ? { testing: definition.testing } : {}),
  };
  Object.defineProperty(plugin, SDK_MARK, { value: sdkIdentity, enumerable: true });
  return plugin;
}

function manifestOf(m: ConnectorDefinition['manifest']): ConnectorManifest {
  if (m instanceof URL || typeof m === 'string') return loadManifestFile(m);
  return loadManifest(m, `${typeof m.id === 'string' ? m.id : 'connector'} manifest`);
}

function definitionProblems<Client>(manifest: ConnectorManifest, d: ConnectorDefinition<Client>): Problem[] {
  const file = `connector ${manifest.id} (defineConnector)`;
  const problems: Problem[] = [];
  const compare = (what: 'streams' | 'operations' | 'removers', declared: string[], given: Record<string, unknown> | undefined) => {
    for (const id of declared) {
      if (!given || !given[id]) {
        problems.push({
          file,
          pointer: `/${what}/${id}`,
          expected: `an implementation of ${what === 'streams' ? 'stream' : 'operation'} ${id}, which the manifest declares`,
          found: 'none',
          hint: `add ${what}: { '${id}': … } to defineConnector, or remove ${id} from the manifest`,
        });
      } else if (!isImplementation(given[id], what === 'streams' ? 'read' : what === 'operations' ? 'write' : 'remove')) {
        problems.push({
          file,
          pointer: `/${what}/${id}`,
          expected: `an object with ${what === 'streams' ? 'read()' : what === 'operations' ? 'write()' : 'remove()'}, a class or a function taking the connection`,
          found: typeof given[id],
        });
      }
    }
    for (const id of Object.keys(given ?? {})) {
      if (!declared.includes(id)) {
        problems.push({
          file,
          pointer: `/${what}/${id}`,
          expected: `one of the manifest's ${what === 'streams' ? 'streams' : 'operations'} (${declared.join(', ') || 'none'})`,
          found: JSON.stringify(id),
          hint: `declare ${id} in the manifest, or remove it from ${what}`,
        });
      }
    }
  };
  compare('streams', manifest.streams.map((s) => s.id), d.streams);
  compare('operations', manifest.operations.map((o) => o.id), d.operations);
  if (d.removers) compare('removers', Object.keys(d.removers).filter((id) => manifest.operations.some((o) => o.id === id)), d.removers);
  if (d.check !== undefined && typeof d.check !== 'function') {
    problems.push({ file, pointer: '/check', expected: 'a function (conn, signal) => Promise<string>', found: typeof d.check });
  }
  if (d.connect !== undefined && typeof d.connect !== 'function') {
    problems.push({ file, pointer: '/connect', expected: 'a function (conn) => client', found: typeof d.connect });
  }
  return problems;
}

function isImplementation(x: unknown, method: string): boolean {
  return typeof x === 'function' || (typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>)[method] === 'function');
}

/** True for a `class`, false for a plain or arrow function (both are `typeof 'function'`). */
function isClass(f: unknown): f is new (...args: never[]) => unknown {
  return typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));
}

function build<T>(impl: unknown, conn: ConnectorConnection<never>): T {
  if (isClass(impl)) return new (impl as new (c: unknown) => T)(conn);
  return (impl as (c: unknown) => T)(conn);
}

function register<Client>(container: DependencyContainer, manifest: ConnectorManifest, d: ConnectorDefinition<Client>): void {
  const ctx = container.resolve(ConnectionToken);
  let client: { value: Client } | undefined;
  const conn = Object.freeze({
    ...ctx,
    get client(): Client {
      client ??= { value: d.connect ? d.connect(ctx) : (undefined as Client) };
      return client.value;
    },
    resolve: <T>(token: InjectionToken<T>): T => container.resolve(token),
  }) as ConnectorConnection<Client>;
  const c = conn as ConnectorConnection<never>;

  container.register(ClientToken, { useFactory: () => conn.client });
  if (d.clientToken) container.register(d.clientToken, { useFactory: () => conn.client });

  for (const s of manifest.streams) {
    const impl = d.streams![s.id]!;
    container.register(sourceToken(s.id), {
      useFactory: instanceCachingFactory(() => (typeof impl === 'function' ? build<Source>(impl, c) : streamOf(impl as StreamDefinition<Client>, conn))),
    });
  }
  for (const o of manifest.operations) {
    const impl = d.operations![o.id]!;
    container.register(targetToken(o.id), {
      useFactory: instanceCachingFactory(() => (typeof impl === 'function' ? build<Target>(impl, c) : targetOf(impl as OperationDefinition<Client>, conn))),
    });
    const separate = d.removers?.[o.id];
    if (separate) {
      container.register(removerToken(o.id), { useFactory: instanceCachingFactory(() => build<Remover>(separate, c)) });
    } else if (typeof impl === 'object' && impl.remove) {
      const op = impl as OperationDefinition<Client>;
      container.register(removerToken(o.id), {
        useValue: {
          remove: (rc: RemoveContext) => op.remove!(rc, conn),
          ...(op.restore ? { restore: (rc: RemoveContext) => op.restore!(rc, conn) } : {}),
        },
      });
    }
  }
  if (d.check) {
    const check = d.check;
    container.register(ConnectionCheckToken, { useValue: { check: (signal?: AbortSignal) => check(conn, signal) } });
  }
}

function streamOf<Client>(s: StreamDefinition<Client>, conn: ConnectorConnection<Client>): Source {
  return {
    read: (ctx) => s.read(ctx, conn),
    ...(s.readDeleted ? { readDeleted: (ctx: ReadContext) => s.readDeleted!(ctx, conn) } : {}),
  };
}

function targetOf<Client>(o: OperationDefinition<Client>, conn: ConnectorConnection<Client>): Target {
  return {
    write: (payload, ctx) => o.write(payload, ctx, conn),
    ...(o.writeBatch ? { writeBatch: (items: BatchItem[]) => o.writeBatch!(items, conn) } : {}),
    ...(o.preflight ? { preflight: (ctx: PreflightContext) => o.preflight!(ctx, conn) } : {}),
    ...(o.warmUp ? { warmUp: (signal: AbortSignal) => o.warmUp!(signal, conn) } : {}),
  };
}
