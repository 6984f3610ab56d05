import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { ConnectionCheckToken, ConnectionToken, type ConnectionCheck, type ConnectionContext, type ConnectionSide } from '../contracts/connector-plugin.js';
import { silentLogger, type Logger } from '../contracts/logger.js';
import { sourceToken, type Source } from '../contracts/source.js';
import type { RunReport, StateStore } from '../contracts/state-store.js';
import { removerToken, targetToken, type Remover, type Target } from '../contracts/target.js';
import { redactingLogger } from '../http/redact.js';
import type { LoadedScheme, ResolvedEndpoint } from '../scheme/load-scheme.js';
import type { Limiter as LimiterContract } from '../contracts/limits.js';
import { Limiter } from '../http/limiter.js';
import { defaultRetryPolicy, type RetryPolicy } from '../http/retry-policy.js';
import { runScheme, type RunSchemeOptions } from './run-scheme.js';

export interface WireOptions {
  logger?: Logger;
  retry?: RetryPolicy;
  /** Which side of the scheme the endpoint is (`ConnectionContext.side`); wireScheme sets it. */
  side?: ConnectionSide;
  /**
   * The limiter of a connection, when it is not this process's own (`qiao worker --redis`: permits
   * shared by every process using the app's key). Absent, or returning undefined: the default
   * {@link Limiter} of the connection's limits.
   */
  limiterFor?: (endpoint: ResolvedEndpoint) => LimiterContract | undefined;
}

/** A connection of a scheme, registered in its own child container. */
export interface WiredEndpoint {
  container: DependencyContainer;
  context: ConnectionContext;
  limiter: LimiterContract;
  check(): Promise<string>;
}

/** Registers a connector for one connection: a child container holding its ConnectionContext and limiter. */
export function wireEndpoint(endpoint: ResolvedEndpoint, options: WireOptions = {}): WiredEndpoint {
  const limiter = options.limiterFor?.(endpoint) ?? new Limiter(endpoint.limits);
  const context: ConnectionContext = {
    connector: endpoint.manifest.id,
    side: options.side,
    config: endpoint.connection,
    limiter,
    retry: options.retry ?? defaultRetryPolicy,
    logger: redactingLogger(options.logger ?? silentLogger, endpoint.secrets),
    secrets: endpoint.secrets,
  };
  const container = rootContainer.createChildContainer();
  container.register(ConnectionToken, { useValue: context });
  endpoint.plugin.register(container);
  return {
    container,
    context,
    limiter,
    check: () => {
      if (!container.isRegistered(ConnectionCheckToken)) return Promise.resolve(`${endpoint.manifest.name}: no connection check`);
      return container.resolve<ConnectionCheck>(ConnectionCheckToken).check();
    },
  };
}

export interface WiredScheme {
  source: Source;
  target: Target;
  /** The operation's remover (`onDelete: stop`), when the connector registers one. */
  remover?: Remover | undefined;
  sourceEndpoint: WiredEndpoint;
  targetEndpoint: WiredEndpoint;
}

/** Builds the source and target of a loaded scheme. */
export function wireScheme(loaded: LoadedScheme, options: WireOptions = {}): WiredScheme {
  const sourceEndpoint = wireEndpoint(loaded.source, { ...options, side: 'source' });
  const targetEndpoint = wireEndpoint(loaded.target, { ...options, side: 'target' });
  const removal = removerToken(loaded.target.operation.id);
  return {
    sourceEndpoint,
    targetEndpoint,
    remover: targetEndpoint.container.isRegistered(removal, true) ? targetEndpoint.container.resolve(removal) : undefined,
    source: sourceEndpoint.container.resolve(sourceToken(loaded.source.stream.id)),
    target: targetEndpoint.container.resolve(targetToken(loaded.target.operation.id)),
  };
}

export type RunLoadedOptions = Omit<
  RunSchemeOptions,
  | 'scheme'
  | 'stream'
  | 'source'
  | 'mapper'
  | 'target'
  | 'store'
  | 'checkPayload'
  | 'params'
  | 'detail'
  | 'incremental'
  | 'lookbackMs'
  | 'upsertKey'
  | 'keepWhenEmpty'
  | 'onDelete'
  | 'remover'
> &
  WireOptions & { wired?: WiredScheme };

/** Runs a loaded scheme against a state store. */
export async function runLoadedScheme(loaded: LoadedScheme, store: StateStore, options: RunLoadedOptions = {}): Promise<RunReport> {
  const wired = options.wired ?? wireScheme(loaded, options);
  const logger = redactingLogger(options.logger ?? silentLogger, loaded.secrets);
  return runScheme({
    ...options,
    logger,
    scheme: loaded.scheme.id,
    stream: loaded.source.stream.id,
    source: wired.source,
    target: wired.target,
    mapper: loaded.mapper,
    store,
    checkPayload: loaded.checkPayload,
    upsertKey: loaded.target.operation.upsert?.key,
    keepWhenEmpty: loaded.scheme.target.keepWhenEmpty,
    params: loaded.source.params,
    detail: loaded.source.detail,
    incremental: loaded.source.incremental,
    lookbackMs: loaded.source.lookbackMs,
    // a stream that cannot list its deleted records has nothing to report
    onDelete: loaded.source.stream.deletions ? (loaded.scheme.target.onDelete ?? 'report') : undefined,
    remover: wired.remover,
    connections: options.connections ?? [
      { side: 'source', connector: wired.sourceEndpoint.context.connector, limiter: wired.sourceEndpoint.limiter },
      { side: 'target', connector: wired.targetEndpoint.context.connector, limiter: wired.targetEndpoint.limiter },
    ],
    concurrency: options.concurrency ?? wired.targetEndpoint.limiter.limits.concurrency,
    writeBatchSize: options.writeBatchSize ?? loaded.target.operation.batch?.maxSize,
  });
}
