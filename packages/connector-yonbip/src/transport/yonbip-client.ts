import { inject, injectable } from 'tsyringe';
import {
  ConnectionToken,
  ConnectorAuthError,
  HttpClient,
  RetryableError,
  SchemeError,
  TokenCache,
  parseRetryAfter,
  redact,
  stringifyJson,
  type AuthProvider,
  type Classification,
  type ConnectionContext,
  type HttpRequest,
  type HttpResponse,
  type Logger,
  type Problem,
  type RetryPolicy,
} from '@qiao/core';
import { signedTokenQuery } from './sign.js';

export const YONBIP_SYSTEM = 'yonbip';
export const YONBIP_LABEL = '用友 YonBIP';
export const DEFAULT_DATA_CENTER_URL = 'https://apigateway.yonyoucloud.com';
export const GATEWAY_LOOKUP_PATH = '/open-auth/dataCenter/getGatewayAddress';
/** The token path since 2023-07-21 (the older `/open-auth/selfAppAuth/getAccessToken` still answers). */
export const TOKEN_PATH = '/open-auth/selfAppAuth/base/v1/getAccessToken';

/** The connection block of a scheme, as the manifest's `connection` schema describes it. */
export interface YonbipConnection {
  /** Tenant id, for the data-center lookup of the gateway (used when gatewayUrl/tokenUrl are absent). */
  tenantId?: string | undefined;
  /** @default 'https://apigateway.yonyoucloud.com' */
  dataCenterUrl: string;
  /** Business gateway with its path prefix (`https://…/iuap-api-gateway`); skips the lookup. */
  gatewayUrl?: string | undefined;
  /** Token service with its path prefix (`https://…/iuap-api-auth`); skips the lookup. */
  tokenUrl?: string | undefined;
  appKey: string;
  appSecret: string;
  /** @default 60000 */
  timeoutMs: number;
}

export interface YonbipEndpoints {
  gatewayUrl: string;
  tokenUrl: string;
}

/** `{code, message, data}` with `code` normalised to a string (it is a number in some answers). */
export interface YonbipEnvelope<T = unknown> {
  code: string;
  message: string;
  data: T;
}

export interface YonbipCallOptions {
  /** Whether repeating the call is harmless. @default false for POST, true for GET */
  idempotent?: boolean;
  signal?: AbortSignal | undefined;
}

const TOKEN_CODES = new Set(['310001', '310036']);
const RATE_LIMIT_CODES = new Set(['310032', '310039', '310042', '310046']);

const HINT_TENANT = 'check YONBIP_TENANT_ID (connection.tenantId), or set gatewayUrl and tokenUrl directly';
const HINT_APP_KEY = 'check YONBIP_APP_KEY (connection.appKey): the self-built app (自建应用) must exist and be enabled in this tenant';
const HINT_SECRET =
  "check YONBIP_APP_SECRET (connection.appSecret) and YONBIP_APP_KEY, and that this machine's clock is right (the signed timestamp must be within minutes of YonBIP's)";

// Gateway addresses per data center and tenant; they do not change while a process runs.
const gatewayCache = new Map<string, Promise<YonbipEndpoints>>();

/** Forgets the looked-up gateway addresses (tests). */
export function clearGatewayCache(): void {
  gatewayCache.clear();
}

/**
 * The one transport of the YonBIP connector: gateway lookup, signed token with a shared refresh,
 * `access_token` on every business call, envelope checks and error classification, all through the
 * connection's limiter and retry policy (core's HttpClient).
 */
@injectable()
export class YonbipClient {
  readonly retry: RetryPolicy;
  readonly logger: Logger;
  /** Business calls on the gateway (token attached, `"200"` envelope). */
  readonly http: HttpClient;
  /** Data-center lookup and token calls (no token, `"00000"` envelope). */
  readonly authHttp: HttpClient;
  private readonly tokens: TokenCache;
  private readonly secrets: string[];
  private readonly settings: YonbipConnection | SchemeError;
  /** The last token put into a URL, and its encoding. */
  private encodedFor = '';
  private encodedToken = '';
  /** The gateway addresses once known (saves waiting on the cached lookup for every call). */
  private known: YonbipEndpoints | undefined;

  constructor(@inject(ConnectionToken) ctx: ConnectionContext) {
    // A bad connection block surfaces on the first call as SchemeError, not as a DI resolution failure.
    try {
      this.settings = readConnection(ctx.config);
    } catch (error) {
      if (!(error instanceof SchemeError)) throw error;
      this.settings = error;
    }
    this.retry = ctx.retry;
    this.logger = ctx.logger;
    const appSecret = this.settings instanceof SchemeError ? undefined : this.settings.appSecret;
    this.secrets = appSecret ? [...ctx.secrets, appSecret] : [...ctx.secrets];
    const base = {
      system: YONBIP_SYSTEM,
      label: YONBIP_LABEL,
      limiter: ctx.limiter,
      retry: ctx.retry,
      logger: ctx.logger,
      secrets: this.secrets,
      timeoutMs: this.settings instanceof SchemeError ? undefined : this.settings.timeoutMs,
    };
    this.authHttp = new HttpClient({ ...base, classify: (res, req) => this.classifyAuth(res, req) });
    this.tokens = new TokenCache(() => this.issueToken());
    const auth: AuthProvider = {
      token: () => this.tokens.get(),
      peek: () => this.tokens.peek(),
      refresh: (stale) => this.tokens.refresh(stale),
      // Tokens contain `+ / =`: encoded here, once per token (HttpClient adds the call's own query after it).
      apply: (request, token) => {
        if (this.encodedFor !== token) {
          this.encodedFor = token;
          this.encodedToken = encodeURIComponent(token);
        }
        return { ...request, url: `${request.url}${request.url.includes('?') ? '&' : '?'}access_token=${this.encodedToken}` };
      },
    };
    this.http = new HttpClient({ ...base, classify: classifyBusiness, auth });
  }

  /** The connection settings; throws SchemeError when the connection block is incomplete. */
  get connection(): YonbipConnection {
    if (this.settings instanceof SchemeError) throw this.settings;
    return this.settings;
  }

  /** The gateway and token URLs: configured, or looked up once per data center and tenant. */
  async endpoints(signal?: AbortSignal): Promise<YonbipEndpoints> {
    this.known ??= await this.findEndpoints(signal);
    return this.known;
  }

  private findEndpoints(signal?: AbortSignal): Promise<YonbipEndpoints> {
    const { gatewayUrl, tokenUrl, tenantId, dataCenterUrl } = this.connection;
    if (gatewayUrl && tokenUrl) return Promise.resolve({ gatewayUrl, tokenUrl });
    const key = `${dataCenterUrl}|${tenantId ?? ''}`;
    let found = gatewayCache.get(key);
    if (!found) {
      const lookup = this.lookupGateway(signal);
      found = lookup;
      gatewayCache.set(key, lookup);
      lookup.catch(() => {
        if (gatewayCache.get(key) === lookup) gatewayCache.delete(key);
      });
    }
    return found;
  }

  /** Looks up the gateway and gets a token ahead of the first call (both cached). */
  async warmUp(signal?: AbortSignal): Promise<void> {
    await this.endpoints(signal);
    await this.tokens.get();
  }

  /** A valid access token (cached until shortly before it expires). */
  token(): Promise<string> {
    return this.tokens.get();
  }

  /** Tokens issued to this client so far. */
  get tokensIssued(): number {
    return this.tokens.issued;
  }

  /** POSTs a JSON body to a gateway API and returns the envelope's `data`. */
  async post<T = unknown>(api: string, body: unknown, options: YonbipCallOptions = {}): Promise<T> {
    const { gatewayUrl } = this.known ?? (await this.endpoints(options.signal));
    const idempotent = options.idempotent ?? false;
    const response = await this.http.request(
      { method: 'POST', url: gatewayUrl + api, body: stringifyJson(body), idempotent, name: shortName(api) },
      options.signal,
    );
    return this.dataOf<T>(response, api, idempotent);
  }

  /** GETs a gateway API and returns the envelope's `data`. */
  async get<T = unknown>(api: string, query: HttpRequest['query'], options: YonbipCallOptions = {}): Promise<T> {
    const { gatewayUrl } = this.known ?? (await this.endpoints(options.signal));
    const idempotent = options.idempotent ?? true;
    const response = await this.http.request(
      { method: 'GET', url: gatewayUrl + api, idempotent, name: shortName(api), ...(query ? { query } : {}) },
      options.signal,
    );
    return this.dataOf<T>(response, api, idempotent);
  }

  private dataOf<T>(response: HttpResponse, api: string, idempotent: boolean): T {
    const env = envelope(response);
    if (env) return env.data as T;
    // Only an unreadable answer to a non-idempotent call gets here (the classifier retries the others):
    // the write may have been applied before the answer was cut or replaced.
    throw new RetryableError(
      redact(`${YONBIP_LABEL} ${shortName(api)}: unreadable answer (HTTP ${response.status}): ${describe(response)}`, this.secrets),
      { system: YONBIP_SYSTEM, reason: 'yonbip.unreadable', outcomeUnknown: !idempotent },
    );
  }

  private async lookupGateway(signal?: AbortSignal): Promise<YonbipEndpoints> {
    const { dataCenterUrl, tenantId } = this.connection;
    const response = await this.authHttp.request(
      { method: 'GET', url: dataCenterUrl + GATEWAY_LOOKUP_PATH, query: { tenantId }, name: 'getGatewayAddress' },
      signal,
    );
    const data = envelope(response)?.data as { gatewayUrl?: unknown; tokenUrl?: unknown } | null | undefined;
    if (typeof data?.gatewayUrl !== 'string' || typeof data.tokenUrl !== 'string') {
      throw new ConnectorAuthError(`${YONBIP_LABEL} getGatewayAddress: the answer has no gatewayUrl/tokenUrl for tenant ${tenantId}`, {
        system: YONBIP_SYSTEM,
        reason: 'yonbip.tenant',
        hint: HINT_TENANT,
      });
    }
    const endpoints = { gatewayUrl: trimSlash(data.gatewayUrl), tokenUrl: trimSlash(data.tokenUrl) };
    this.logger.debug(`${YONBIP_LABEL}: tenant ${tenantId} uses gateway ${endpoints.gatewayUrl}`);
    return endpoints;
  }

  private async issueToken(): Promise<{ token: string; expiresInMs: number }> {
    const { tokenUrl } = await this.endpoints();
    const { appKey, appSecret } = this.connection;
    // The signature is URL-encoded here, exactly once; HttpClient would encode it again if passed as query.
    const url = `${tokenUrl}${TOKEN_PATH}?${signedTokenQuery(appKey, appSecret, Date.now())}`;
    const response = await this.authHttp.request({ method: 'GET', url, name: 'getAccessToken' });
    const data = envelope(response)?.data as { access_token?: unknown; expire?: unknown } | null | undefined;
    if (typeof data?.access_token !== 'string' || data.access_token === '') {
      throw new ConnectorAuthError(`${YONBIP_LABEL} getAccessToken: the answer has no access_token`, {
        system: YONBIP_SYSTEM,
        reason: 'yonbip.token',
        hint: HINT_SECRET,
      });
    }
    const expire = Number(data.expire);
    return { token: data.access_token, expiresInMs: (Number.isFinite(expire) && expire > 0 ? expire : 7200) * 1000 };
  }

  private classifyAuth(response: HttpResponse, request: HttpRequest): Classification {
    const env = envelope(response);
    const lookup = request.name === 'getGatewayAddress';
    if (!env) {
      if (response.status === 404) {
        return {
          kind: 'fatal',
          reason: 'yonbip.310404',
          message: `HTTP 404: ${describe(response)}`,
          hint: lookup
            ? 'check dataCenterUrl (default https://apigateway.yonyoucloud.com)'
            : 'check tokenUrl: it must carry its path prefix (e.g. https://…/iuap-api-auth)',
        };
      }
      return { kind: 'retry', reason: `yonbip.http_${response.status}`, message: `unreadable answer (HTTP ${response.status}): ${describe(response)}` };
    }
    if (env.code === '00000') return { kind: 'ok' };
    if (RATE_LIMIT_CODES.has(env.code)) return rateLimited(env, response);
    if (response.status >= 500 && !(lookup && env.code === '500')) {
      return { kind: 'retry', reason: `yonbip.http_${response.status}`, message: `${env.message} (code ${env.code}, HTTP ${response.status})` };
    }
    if (lookup) {
      return {
        kind: 'auth',
        reason: 'yonbip.tenant',
        message: `no gateway found for tenant ${this.connection.tenantId}: ${env.message} (code ${env.code})`,
        hint: HINT_TENANT,
      };
    }
    if (env.code === '10018') {
      return { kind: 'auth', reason: 'yonbip.10018', message: `appKey refused: ${env.message} (code 10018)`, hint: HINT_APP_KEY };
    }
    return {
      kind: 'auth',
      reason: `yonbip.${env.code}`,
      message: `token request refused (check appSecret): ${env.message} (code ${env.code})`,
      hint: HINT_SECRET,
    };
  }
}

/**
 * Classifies a gateway answer. Platform errors arrive as HTTP 200 with the code in the body:
 * 310001/310036 → refresh the token and repeat; 310032/310039/310042/310046 → back off;
 * 310404 or HTTP 404 → fatal; 999 → the record is rejected; HTML or plain text → retried, or
 * (for a write) reported as outcome-unknown by the transport.
 */
export function classifyBusiness(response: HttpResponse, request: HttpRequest): Classification {
  const env = envelope(response);
  if (response.status === 404 || env?.code === '310404') {
    return {
      kind: 'fatal',
      reason: 'yonbip.310404',
      message: `API not found (HTTP ${response.status}${env ? `, ${env.message}, code ${env.code}` : ''})`,
      hint: 'check gatewayUrl (it must carry its path prefix, e.g. https://…/iuap-api-gateway) and that the API is authorised for this app',
    };
  }
  if (!env) {
    if (response.text.includes('非法token')) return { kind: 'token_expired', reason: 'yonbip.310036', message: '非法token (plain text)' };
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      return { kind: 'retry', reason: `yonbip.http_${response.status}`, message: `HTTP ${response.status}: ${describe(response)}` };
    }
    if (!(request.idempotent ?? request.method === 'GET')) return { kind: 'ok' };
    return { kind: 'retry', reason: 'yonbip.unreadable', message: `unreadable answer (HTTP ${response.status}): ${describe(response)}` };
  }
  const { code, message } = env;
  if (code === '200') return { kind: 'ok' };
  if (TOKEN_CODES.has(code)) return { kind: 'token_expired', reason: `yonbip.${code}`, message: `${message} (code ${code})` };
  if (RATE_LIMIT_CODES.has(code)) return rateLimited(env, response);
  if (code === '999') return { kind: 'record', reason: 'yonbip.999', message: `${message} (code 999)` };
  if (response.status >= 500) return { kind: 'retry', reason: `yonbip.http_${response.status}`, message: `${message} (code ${code}, HTTP ${response.status})` };
  return { kind: 'record', reason: `yonbip.${code}`, message: `${message} (code ${code})` };
}

/** The `{code, message, data}` envelope of an answer, or undefined when the answer is not one. */
export function envelope(response: HttpResponse): YonbipEnvelope | undefined {
  const json = response.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !('code' in json)) return undefined;
  const o = json as Record<string, unknown>;
  return { code: String(o.code), message: typeof o.message === 'string' ? o.message : String(o.message ?? ''), data: o.data };
}

function rateLimited(env: YonbipEnvelope, response: HttpResponse): Classification {
  return {
    kind: 'retry',
    reason: `yonbip.${env.code}`,
    message: `${env.message} (code ${env.code})`,
    // Turned away by the gateway before the API ran (nothing applied): the limiter pauses and slows
    // down, and the request is repeated without spending the retry budget. No Retry-After comes (none
    // is documented); a fixed wait here would pause the whole connection on every refusal.
    retryAfterMs: parseRetryAfter(response.headers['retry-after']),
    rateLimited: true,
  };
}

function describe(response: HttpResponse): string {
  const text = response.text;
  if (text.trim() === '') return 'empty body';
  if (/^\s*</.test(text)) {
    const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
    return `an HTML page${title ? ` "${title}"` : ''}`;
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

function shortName(api: string): string {
  return api.replace(/^\/yonbip\/digitalModel\//, '');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function readConnection(config: Record<string, unknown>): YonbipConnection {
  const str = (key: string): string | undefined => {
    const v = config[key];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const problems: Problem[] = [];
  const file = 'yonbip connection';
  const appKey = str('appKey');
  const appSecret = str('appSecret');
  const gatewayUrl = str('gatewayUrl');
  const tokenUrl = str('tokenUrl');
  const tenantId = str('tenantId');
  if (!appKey) problems.push({ file, pointer: '/appKey', expected: 'the appKey of a self-built app', found: 'nothing', hint: 'set YONBIP_APP_KEY' });
  if (!appSecret) problems.push({ file, pointer: '/appSecret', expected: 'the appSecret of a self-built app', found: 'nothing', hint: 'set YONBIP_APP_SECRET' });
  if (!(gatewayUrl && tokenUrl) && !tenantId) {
    problems.push({
      file,
      pointer: '',
      expected: 'tenantId, or both gatewayUrl and tokenUrl',
      found: gatewayUrl ? 'gatewayUrl without tokenUrl' : tokenUrl ? 'tokenUrl without gatewayUrl' : 'neither',
      hint: 'set YONBIP_TENANT_ID, or the gateway and token URLs of your YonBIP data center',
    });
  }
  const timeout = Number(config.timeoutMs ?? 60_000);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    problems.push({ file, pointer: '/timeoutMs', expected: 'a positive number of milliseconds', found: String(config.timeoutMs) });
  }
  if (problems.length) throw new SchemeError(problems, { system: YONBIP_SYSTEM });
  return {
    tenantId,
    dataCenterUrl: trimSlash(str('dataCenterUrl') ?? DEFAULT_DATA_CENTER_URL),
    gatewayUrl: gatewayUrl && trimSlash(gatewayUrl),
    tokenUrl: tokenUrl && trimSlash(tokenUrl),
    appKey: appKey as string,
    appSecret: appSecret as string,
    timeoutMs: timeout,
  };
}
