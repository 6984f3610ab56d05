import { container } from 'tsyringe';
import {
  ConnectionCheckToken,
  ConnectionToken,
  Limiter,
  defaultRetryPolicy,
  silentLogger,
  sourceToken,
  type ConnectionCheck,
  type ConnectionContext,
  type Limits,
  type ReadContext,
  type RetryPolicy,
  type Source,
  type SourceRecord,
} from '@qiao/core';
import plugin, { OkkiClient, OkkiClientToken } from '@qiao/connector-okki';
import type { OkkiSandbox } from '@qiao/connector-okki/sandbox';

/** Retries fast enough for tests, with room for a few injected faults in a row. */
export const fastRetry: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: 8, baseDelayMs: 5, maxDelayMs: 40, maxElapsedMs: 20_000 };

export interface Wired {
  ctx: ConnectionContext;
  stream: Source;
  client: OkkiClient;
  check: ConnectionCheck;
}

/** A connection to the sandbox, wired the way the runner does it: child container + plugin.register. */
export function wire(
  sandbox: OkkiSandbox,
  options: { config?: Record<string, unknown>; limits?: Limits; retry?: RetryPolicy } = {},
): Wired {
  const config = { baseUrl: sandbox.url, ...sandbox.credentials, scope: 'company', ...options.config };
  const ctx: ConnectionContext = {
    connector: 'okki',
    config,
    limiter: new Limiter(options.limits ?? { concurrency: 4 }),
    retry: options.retry ?? fastRetry,
    logger: silentLogger,
    secrets: [String(config.clientSecret ?? '')].filter(Boolean),
  };
  const c = container.createChildContainer();
  c.register(ConnectionToken, { useValue: ctx });
  plugin.register(c);
  return {
    ctx,
    stream: c.resolve(sourceToken('company')),
    client: c.resolve(OkkiClientToken),
    check: c.resolve(ConnectionCheckToken),
  };
}

export function readContext(partial: Partial<ReadContext> = {}): ReadContext {
  return {
    params: {},
    detail: false,
    lookbackMs: 0,
    signal: new AbortController().signal,
    logger: silentLogger,
    ...partial,
  };
}

export async function collect(source: Source, ctx: ReadContext): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of source.read(ctx)) out.push(r);
  return out;
}
