import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import {
  ConnectionCheckToken,
  ConnectionToken,
  type ConnectionCheck,
  type ConnectionContext,
  type ConnectionSide,
  type ConnectorPlugin,
} from '../contracts/connector-plugin.js';
import type { Limits, RetryPolicy } from '../contracts/limits.js';
import { silentLogger, type Logger } from '../contracts/logger.js';
import { sourceToken, type Source } from '../contracts/source.js';
import { removerToken, targetToken, type Remover, type Target } from '../contracts/target.js';
import { InputError } from '../errors/errors.js';
import { Limiter } from '../http/limiter.js';
import { redactingLogger } from '../http/redact.js';
import { defaultRetryPolicy } from '../http/retry-policy.js';
import { createAjv, problemsFromAjv } from '../manifest/ajv.js';
import { secretFields } from '../manifest/load-manifest.js';

export interface ConnectOptions {
  /** Which side of a scheme the connection plays. @default 'source' */
  side?: ConnectionSide;
  limits?: Limits;
  retry?: RetryPolicy;
  logger?: Logger;
}

/** A plugin registered for one connection outside a scheme (the test kit, `qiao connectors test`). */
export interface ConnectedPlugin {
  container: DependencyContainer;
  context: ConnectionContext;
  source(streamId: string): Source;
  target(operationId: string): Target;
  remover(operationId: string): Remover | undefined;
  /** The connector's connection check, or undefined when it registers none. */
  check: ConnectionCheck | undefined;
}

/**
 * Registers `plugin` for one connection block in a child container of core's one container, the way a
 * scheme's connection is wired: the block is validated against the manifest (defaults applied), and
 * gets its own limiter.
 * @throws InputError when the connection block does not validate, with every problem
 */
export function connectPlugin(plugin: ConnectorPlugin, connection: Record<string, unknown>, options: ConnectOptions = {}): ConnectedPlugin {
  const m = plugin.manifest;
  const config = structuredClone(connection);
  const validate = createAjv({ useDefaults: true, coerceTypes: true }).compile(m.connection);
  if (!validate(config)) throw new InputError(problemsFromAjv(validate.errors, `${m.id} connection`, config), { system: m.id });
  const secrets = secretFields(m)
    .map((f) => config[f])
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
  const context: ConnectionContext = {
    connector: m.id,
    side: options.side ?? 'source',
    config,
    limiter: new Limiter({ ...m.limits, ...options.limits }),
    retry: options.retry ?? defaultRetryPolicy,
    logger: redactingLogger(options.logger ?? silentLogger, secrets),
    secrets,
  };
  const container = rootContainer.createChildContainer();
  container.register(ConnectionToken, { useValue: context });
  plugin.register(container);
  return {
    container,
    context,
    source: (id) => container.resolve(sourceToken(id)),
    target: (id) => container.resolve(targetToken(id)),
    remover: (id) => (container.isRegistered(removerToken(id), true) ? container.resolve(removerToken(id)) : undefined),
    check: container.isRegistered(ConnectionCheckToken, true) ? container.resolve(ConnectionCheckToken) : undefined,
  };
}
