import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { ConnectorManifest } from '../manifest/manifest-types.js';
import type { Limiter, RetryPolicy } from './limits.js';
import type { Logger } from './logger.js';

/** What a connector gets to build its transport: one per configured connection. */
export interface ConnectionContext {
  /** Connector id (`okki`). */
  connector: string;
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
 * What a connector package exports as its default: its manifest and a `register` function that
 * registers its transport, sources (`sourceToken(streamId)`), targets (`targetToken(operationId)`) and
 * connection check (`ConnectionCheckToken`) in a child container that already holds `ConnectionToken`.
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
}

/** Where {@link ConnectorPlugin.bind} is called from. */
export interface BindContext {
  /** The scheme file (relative paths in the connection are relative to its folder). */
  file: string;
  /** JSON pointer of the connection block in the scheme (`/source/connection`). */
  pointer: string;
}

