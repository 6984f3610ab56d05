import { container } from 'tsyringe';
import {
  ConnectionCheckToken,
  ConnectionToken,
  Limiter,
  silentLogger,
  targetToken,
  type ConnectionCheck,
  type ConnectionContext,
  type Limits,
  type RetryPolicy,
  type Target,
  type WriteContext,
} from '@qiao/core';
import plugin, { YonbipClient, sign } from '../src/index.js';
import { YONBIP_SANDBOX_ORG, type YonbipSandbox } from '../src/sandbox/index.js';

export const fastRetry: RetryPolicy = { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50, maxElapsedMs: 30_000 };

export interface ConnectOptions {
  /** `tenant`: tenantId + dataCenterUrl (gateway lookup); `direct`: gatewayUrl + tokenUrl. @default 'tenant' */
  mode?: 'tenant' | 'direct';
  config?: Record<string, unknown>;
  limits?: Limits;
  retry?: Partial<RetryPolicy>;
}

/** Wires the plugin the way the runner does: a child container holding the ConnectionContext. */
export function connect(sandbox: YonbipSandbox, options: ConnectOptions = {}) {
  const { tenantId, appKey, appSecret } = sandbox.credentials;
  const endpoints =
    options.mode === 'direct'
      ? { gatewayUrl: sandbox.gatewayUrl, tokenUrl: sandbox.tokenUrl }
      : { tenantId, dataCenterUrl: sandbox.dataCenterUrl };
  // merchant.save's tests are of the classic operation unless they ask for v2 (the connection's default).
  const config: Record<string, unknown> = { ...endpoints, appKey, appSecret, api: 'classic', ...options.config };
  const ctx: ConnectionContext = {
    connector: 'yonbip',
    config,
    limiter: new Limiter(options.limits ?? { requestsPerSecond: 500, concurrency: 8 }),
    retry: { ...fastRetry, ...options.retry },
    logger: silentLogger,
    secrets: [String(config.appSecret)],
  };
  const c = container.createChildContainer();
  c.register(ConnectionToken, { useValue: ctx });
  plugin.register(c);
  return {
    ctx,
    container: c,
    target: c.resolve<Target>(targetToken('merchant.save')),
    check: c.resolve<ConnectionCheck>(ConnectionCheckToken),
    client: c.resolve(YonbipClient),
  };
}

export function writeCtx(key: string, extra: Partial<WriteContext> = {}): WriteContext {
  return { key, maybeWritten: false, signal: new AbortController().signal, logger: silentLogger, ...extra };
}

/** A minimal mapped payload: code `C<i>`, name `客户<i>`, in the sandbox tenant's own org. */
export function customer(i: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { code: `C${i}`, name: { zh_CN: `客户${i}` }, createOrg: YONBIP_SANDBOX_ORG, ...extra };
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Raw HTTP against the sandbox, bypassing the connector. */
export const raw = {
  async token(sb: YonbipSandbox): Promise<string> {
    const { appKey, appSecret } = sb.credentials;
    const timestamp = String(Date.now());
    const signature = encodeURIComponent(sign({ appKey, timestamp }, appSecret));
    const res = await fetch(`${sb.tokenUrl}/open-auth/selfAppAuth/base/v1/getAccessToken?appKey=${appKey}&timestamp=${timestamp}&signature=${signature}`);
    const body = (await res.json()) as { data: { access_token: string } };
    return body.data.access_token;
  },
  async post(sb: YonbipSandbox, api: string, token: string | undefined, body: string, headers: Record<string, string> = {}) {
    const q = token === undefined ? '' : `?access_token=${encodeURIComponent(token)}`;
    const res = await fetch(`${sb.gatewayUrl}${api}${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
  },
};

export const SAVE_API = '/yonbip/digitalModel/merchant/save';
export const LIST_API = '/yonbip/digitalModel/merchant/list';
