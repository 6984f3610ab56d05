import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { ConnectorManifest } from '../manifest/manifest-types.js';
import type { Limiter, RetryPolicy } from './limits.js';
import type { Logger } from './logger.js';

/** Which side of a scheme a connection is on: `source` (read) or `target` (write). */
export type ConnectionSide = 'source' | 'target';

/** What a connector gets to build its transport: one per configured connection. */
export interface ConnectionContext {
  /** Connector id (`okki`). */
  connector: string;
  /**
   * Which side of the scheme this connection is on, so a check can test what that side needs (read
   * access for a source, write access for a target). qiao sets it for every connection of a scheme and
   * in the test kit; it is absent only where a test wires a connection by hand.
   * @example if (conn.side === 'target') await client.ping('/orders/save')
   */
  side?: ConnectionSide | undefined;
  /** The connection block of the scheme, validated against the manifest, defaults applied. */
  config: Record<string, unknown>;
  /** The connection's one limiter: every request of this connection goes through it. */
  limiter: Limiter;
  retry: RetryPolicy;
  logger: Logger;
  /** Secret values of this connection (fields marked `x-secret`), for redaction. */
  secrets: string[];
}

export const ConnectionToken: InjectionToken<ConnectionContext> = Symbol.for('qiao.Connection');

/**
 * Authenticates and makes one cheap read; resolves with a one-line description of what it did,
 * rejects with `ConnectorAuthError` (credentials) or `RetryableError` (unreachable).
 */
export interface ConnectionCheck {
  check(signal?: AbortSignal): Promise<string>;
}

export const ConnectionCheckToken: InjectionToken<ConnectionCheck> = Symbol.for('qiao.ConnectionCheck');

/**
 * What a connector package exports as its default. Write it with {@link defineConnector}, which builds
 * `register` from plain functions or classes: an author never touches the DI container.
 *
 * `register` registers the connector's transport, sources (`sourceToken(streamId)`), targets
 * (`targetToken(operationId)`) and connection check (`ConnectionCheckToken`) in a child container of
 * core's one container that already holds `ConnectionToken`.
 */
export interface ConnectorPlugin {
  manifest: ConnectorManifest;
  register(container: DependencyContainer): void;
  /**
   * What this connector's errors mean and what the user should do, shown next to them in reports,
   * the run overview and alerts; first match wins.
   * @default [] (the CLI shows only its generic hints)
   */
  diagnoses?: readonly import('./diagnosis.js').Diagnosis[];
  /**
   * Optional: for a connector whose streams and operations are declared in a file the scheme names
   * (`@qiao/connector-rest`: `connection.manifest`). Called once per scheme side with the connection
   * block as written (`${env:…}` resolved); returns the plugin that scheme uses, whose manifest then
   * checks the stream, params and connection. Rejects with an `InputError` listing what is wrong with
   * the named file (every problem with its pointer), which the scheme's validation reports as its own.
   */
  bind?(connection: Record<string, unknown>, context: BindContext): ConnectorPlugin | Promise<ConnectorPlugin>;
  /**
   * How the behavioural test kit (`connectorKit` of `@qiao/core/testing`, `qiao connectors test`)
   * reaches a system to test against: usually the connector's own simulator, started on a free port.
   * Import the simulator lazily inside `setup`, so running the connector never loads it.
   * @default undefined (the kit then needs its options from the caller)
   */
  testing?: ConnectorTesting;
}

/** See {@link ConnectorPlugin.testing}. */
export interface ConnectorTesting {
  /** Starts what the kit tests against and says how to reach it; `close` stops it again. */
  setup(): Promise<import('../testing/kit-options.js').KitOptions & { close?: () => Promise<void> }>;
}

/** Where {@link ConnectorPlugin.bind} is called from. */
export interface BindContext {
  /** The scheme file (relative paths in the connection are relative to its folder). */
  file: string;
  /** JSON pointer of the connection block in the scheme (`/source/connection`). */
  pointer: string;
}

