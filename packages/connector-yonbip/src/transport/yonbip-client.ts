import { inject, injectable } from 'tsyringe';
import {
  ConnectionToken,
  ConnectorAuthError,
  HttpClient,
  RetryableError,
  InputError,
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
  /**
   * The customer endpoint set `merchant.save` uses: `v2` (merchant/newlist index + batch/merchant/save)
   * or `classic` (merchant/list + merchant/save per customer). v2 by default: the current catalogue
   * lists it, and it costs ~0.03 calls per new customer against 2.
   * @default 'v2'
   */
  api: 'v2' | 'classic';
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
  /** Probes of the gateway with a fake token (every answer is data for {@link probe}). */
  private readonly probeHttp: HttpClient;
  /** Data-center lookup and token calls (no token, `"00000"` envelope). */
  readonly authHttp: HttpClient;
  private readonly tokens: TokenCache;
  private readonly secrets: string[];
  private readonly settings: YonbipConnection | InputError;
  /** The last token put into a URL, and its encoding. */
  private encodedFor = '';
  private encodedToken = '';
  /** The gateway addresses once known (saves waiting on the cached lookup for every call). */
  private known: YonbipEndpoints | undefined;
  private readonly waits: YonbipWaits;

  constructor(@inject(ConnectionToken) ctx: ConnectionContext) {
    // A bad connection block surfaces on the first call as InputError, not as a DI resolution failure.
    try {
      this.settings = readConnection(ctx.config);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.settings = error;
    }
    this.retry = ctx.retry;
    this.logger = ctx.logger;
    const appSecret = this.settings instanceof InputError ? undefined : this.settings.appSecret;
    this.secrets = appSecret ? [...ctx.secrets, appSecret] : [...ctx.secrets];
    const base = {
      system: YONBIP_SYSTEM,
      label: YONBIP_LABEL,
      limiter: ctx.limiter,
      retry: ctx.retry,
      logger: ctx.logger,
      secrets: this.secrets,
      timeoutMs: this.settings instanceof InputError ? undefined : this.settings.timeoutMs,
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
    const classifyContext: YonbipClassifyContext = {
      appKey: this.settings instanceof InputError ? undefined : this.settings.appKey,
      // Never wait longer than the policy's longest step: a test policy of milliseconds stays fast.
      waits: { circuitMs: Math.min(DEFAULT_WAITS.circuitMs, ctx.retry.maxDelayMs), busyMs: Math.min(DEFAULT_WAITS.busyMs, ctx.retry.maxDelayMs) },
    };
    this.waits = classifyContext.waits as YonbipWaits;
    this.http = new HttpClient({ ...base, classify: (res, req) => classifyBusiness(res, req, classifyContext), auth });
    this.probeHttp = new HttpClient({ ...base, classify: () => ({ kind: 'ok' }) });
  }

  /** The connection settings; throws InputError when the connection block is incomplete. */
  get connection(): YonbipConnection {
    if (this.settings instanceof InputError) throw this.settings;
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

  /**
   * Whether the gateway has `api` registered, asked with a fake token so nothing runs: the gateway
   * checks the path before the token, so a registered path answers 310036 (非法token) and an unknown
   * one HTTP 404 310404 (skillify errors-and-limits §2, probe-log). Any other answer is `unclear`.
   */
  async probe(api: string, method: 'GET' | 'POST', signal?: AbortSignal): Promise<{ registered: boolean | undefined; code: string; message: string }> {
    const { gatewayUrl } = this.known ?? (await this.endpoints(signal));
    const response = await this.probeHttp.request(
      {
        method,
        url: `${gatewayUrl}${api}?access_token=qiao-check-probe`,
        idempotent: true,
        name: `${shortName(api)} (probe)`,
        ...(method === 'POST' ? { body: '{}' } : {}),
      },
      signal,
    );
    const env = envelope(response);
    const code = env?.code ?? (response.text.includes('非法token') ? '310036' : `http_${response.status}`);
    const message = env?.message ?? describe(response);
    if (response.status === 404 || code === '310404') return { registered: false, code: '310404', message };
    if (code === '310036' || code === '310001') return { registered: true, code, message };
    return { registered: undefined, code, message };
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
    if (env && OUTCOME_UNKNOWN_CODES.has(env.code)) {
      // Only a write gets here with these codes (the classifier repeats reads): it may have been applied.
      throw new RetryableError(redact(`${YONBIP_LABEL} ${shortName(api)}: ${env.message} (code ${env.code}): the write may have been applied`, this.secrets), {
        system: YONBIP_SYSTEM,
        reason: `yonbip.${env.code}`,
        outcomeUnknown: true,
        retryAfterMs: env.code === '310071' ? undefined : this.waits.busyMs,
      });
    }
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

/** Waits the classifier asks for where YonBIP documents none (its answers carry no Retry-After). */
export interface YonbipWaits {
  /** After 310043 (circuit breaker open): back off longer than for a plain failure. @default 5000 */
  circuitMs: number;
  /** After 202 / 310504 / 310078 before the outcome is checked: the platform says "retry after 5 s". @default 5000 */
  busyMs: number;
}

/** What the classifier knows about the connection, for its messages. */
export interface YonbipClassifyContext {
  /** The app the gateway refuses (named in 310037's message). */
  appKey?: string | undefined;
  waits?: Partial<YonbipWaits>;
}

const DEFAULT_WAITS: YonbipWaits = { circuitMs: 5000, busyMs: 5000 };

/**
 * The platform codes (skillify errors-and-limits §3, shared/api/yonbip.md "Platform codes") that end the
 * run: every record would get the same answer, so the first one stops it with one error (exit 3) instead
 * of one dead letter per record.
 */
const FATAL_CODES: Record<string, { what: string; hint: string }> = {
  '310002': { what: 'the gateway wants a JSON body (310002)', hint: 'this is a bug in qiao: run with --debug and report it' },
  '310003': { what: 'the gateway could not get a token for this call (310003)', hint: HINT_SECRET },
  '310005': { what: 'the app does not exist (310005)', hint: HINT_APP_KEY },
  '310006': { what: 'the app is disabled (310006)', hint: 'enable the self-built app (自建应用) in YonBIP 开放平台, or check YONBIP_APP_KEY' },
  '310007': { what: 'the gateway could not load this API (310007)', hint: 'ask the YonBIP administrator to check the API in 开放平台; try again later' },
  '310031': { what: "this machine's IP address is refused (system IP access control, 310031)", hint: 'ask YonBIP support which addresses may call the gateway' },
  '310038': { what: "this machine's IP address is refused by the app's IP whitelist (310038)", hint: "add this machine's public IP address to the app's IP whitelist in YonBIP 开放平台" },
  '310041': { what: "this machine's IP address is refused (product IP access control, 310041)", hint: "add this machine's public IP address to the IP whitelist in YonBIP 开放平台" },
  '310047': { what: "this machine's IP address is refused for this API (310047)", hint: "add this machine's public IP address to the API's IP whitelist in YonBIP 开放平台" },
  '310405': {
    what: 'the API does not take this HTTP method (310405)',
    hint: 'the endpoint version differs from what qiao expects (classic merchant/save|list|detail vs the V2 newinsert/newlist/newupdate): check the API in YonBIP 开放平台 → API 文档',
  },
};

/** Codes that fail this record only (bad data, permanent for it): its dead letter says why. */
const RECORD_CODES: Record<string, string> = {
  '999': 'business failure',
  '310008': 'a required parameter is missing',
  '310009': 'a value could not be converted to its default format',
  '310015': 'a parameter does not match its pattern',
  '310023': 'a parameter has the wrong type',
  '310025': 'the file is too large',
  '310061': 'a gateway plugin failed',
  '310062': 'a gateway plugin failed',
  '310063': 'a gateway plugin failed',
  '310064': 'a gateway plugin failed',
  '310065': 'a gateway plugin failed',
  '310066': 'a business extension plugin returned nothing',
  '315001': 'unknown platform error',
};

/** Transient backend failures: nothing was applied, repeat after a back-off. */
const BACKEND_CODES: Record<string, string> = {
  '310072': 'the backend refused the connection (310072)',
  '310076': 'the NC service failed (310076)',
  '310077': 'the IRIS service failed (310077)',
};

/**
 * Codes after which a write may or may not have been applied: the backend timed out (310504 at the
 * gateway, 310078 behind it), failed while handling it (310071), or is still processing it (202, MDD
 * idempotency). A read is simply repeated; a write is resolved by the operation (lookup by code, or the
 * same `resubmitCheckKey`) before anything is sent again.
 */
export const OUTCOME_UNKNOWN_CODES: ReadonlySet<string> = new Set(['202', '310071', '310078', '310504']);

/** MDD idempotency: a repeated `resubmitCheckKey` is a success, `data` holds the first call's id (10004 in the code table, 100004 on the idempotency page). */
const DUPLICATE_SUBMIT_CODES = new Set(['10004', '100004']);

/**
 * Classifies a gateway answer. Platform errors arrive as HTTP 200 with the code in the body:
 * 310001/310036 → refresh the token and repeat; 310032/310039/310042/310046 → back off;
 * 310043 (circuit breaker) and 310072/310076/310077 (backend down) → back off and repeat;
 * 202/310071/310078/310504 → repeated when idempotent, otherwise passed to the transport as "outcome
 * unknown" (see {@link OUTCOME_UNKNOWN_CODES}); 310037 (API not authorised for the app) and the
 * configuration codes of {@link FATAL_CODES} → fatal, once for the run; 310404 or HTTP 404 → fatal
 * with a hint about the endpoint version; 999 and parameter codes → the record is rejected; HTML or
 * plain text → retried, or (for a write) reported as outcome-unknown by the transport.
 */
export function classifyBusiness(response: HttpResponse, request: HttpRequest, context: YonbipClassifyContext = {}): Classification {
  const env = envelope(response);
  const api = apiOf(request);
  if (response.status === 404 || env?.code === '310404') {
    return {
      kind: 'fatal',
      reason: 'yonbip.310404',
      message: `API ${api} is not registered on this gateway (HTTP ${response.status}${env ? `, ${env.message}, code ${env.code}` : ''})`,
      hint:
        'check gatewayUrl (it must carry its path prefix, e.g. https://…/iuap-api-gateway); then the endpoint version: ' +
        'this tenant may offer only the V2 customer APIs (merchant/newlist, idempotent/newinsert, newupdate) and not the classic merchant/save|list|detail, or the other way round — ' +
        'look the API up in YonBIP 开放平台 → API 文档 (tick 展示历史 API for retired ones)',
    };
  }
  if (!env) {
    if (response.text.includes('非法token')) return { kind: 'token_expired', reason: 'yonbip.310036', message: '非法token (plain text)' };
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      return { kind: 'retry', reason: `yonbip.http_${response.status}`, message: `HTTP ${response.status}: ${describe(response)}` };
    }
    if (!isIdempotent(request)) return { kind: 'ok' };
    return { kind: 'retry', reason: 'yonbip.unreadable', message: `unreadable answer (HTTP ${response.status}): ${describe(response)}` };
  }
  const { code, message } = env;
  const waits = { ...DEFAULT_WAITS, ...context.waits };
  if (code === '200' || DUPLICATE_SUBMIT_CODES.has(code)) return { kind: 'ok' };
  if (TOKEN_CODES.has(code)) return { kind: 'token_expired', reason: `yonbip.${code}`, message: `${message} (code ${code})` };
  if (RATE_LIMIT_CODES.has(code)) return rateLimited(env, response);
  if (code === '310037') {
    const app = context.appKey ? `app ${context.appKey}` : 'this app';
    return {
      kind: 'fatal',
      reason: 'yonbip.310037',
      message: `API ${api} is not authorised for ${app}: ${message} (code 310037)`,
      hint: `in YonBIP 开放平台 → 应用授权 / API授权, grant ${app} the API class (末级分类) that holds ${api}, then run again; nothing was written to YonBIP by the refused calls`,
    };
  }
  const fatal = FATAL_CODES[code];
  if (fatal) return { kind: 'fatal', reason: `yonbip.${code}`, message: `${api}: ${fatal.what}: ${message}`, hint: fatal.hint };
  if (code === '310043') {
    return { kind: 'retry', reason: 'yonbip.310043', message: `circuit breaker open for ${api}: ${message} (code 310043)`, retryAfterMs: waits.circuitMs };
  }
  const backend = BACKEND_CODES[code];
  if (backend) return { kind: 'retry', reason: `yonbip.${code}`, message: `${backend}: ${message}` };
  if (OUTCOME_UNKNOWN_CODES.has(code)) {
    // A write's answer is handed to the transport, which reports it as outcome-unknown (the HTTP layer
    // would repeat a 200 answer blindly); a read is repeated after the platform's "5 s".
    if (!isIdempotent(request)) return { kind: 'ok' };
    return { kind: 'retry', reason: `yonbip.${code}`, message: `${message} (code ${code})`, retryAfterMs: waits.busyMs };
  }
  const record = RECORD_CODES[code];
  if (record) return { kind: 'record', reason: `yonbip.${code}`, message: `${message} (code ${code}${code === '999' ? '' : `: ${record}`})` };
  if (response.status >= 500) return { kind: 'retry', reason: `yonbip.http_${response.status}`, message: `${message} (code ${code}, HTTP ${response.status})` };
  return { kind: 'record', reason: `yonbip.${code}`, message: `${message} (code ${code})` };
}

function isIdempotent(request: HttpRequest): boolean {
  return request.idempotent ?? request.method === 'GET';
}

/** The API of a request, as the notes name it (`/yonbip/digitalModel/merchant/save`). */
function apiOf(request: HttpRequest): string {
  try {
    const path = new URL(request.url).pathname;
    const at = path.indexOf('/yonbip/');
    return at >= 0 ? path.slice(at) : path;
  } catch {
    return request.name ?? request.url;
  }
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
  const api = str('api') ?? 'v2';
  if (api !== 'v2' && api !== 'classic') {
    problems.push({ file, pointer: '/api', expected: '"v2" or "classic"', found: JSON.stringify(config.api), hint: 'set YONBIP_API to v2 or classic' });
  }
  if (problems.length) throw new InputError(problems, { system: YONBIP_SYSTEM });
  return {
    tenantId,
    dataCenterUrl: trimSlash(str('dataCenterUrl') ?? DEFAULT_DATA_CENTER_URL),
    gatewayUrl: gatewayUrl && trimSlash(gatewayUrl),
    tokenUrl: tokenUrl && trimSlash(tokenUrl),
    appKey: appKey as string,
    appSecret: appSecret as string,
    timeoutMs: timeout,
    api: api as 'v2' | 'classic',
  };
}
