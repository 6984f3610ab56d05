import { inject, injectable, type InjectionToken } from 'tsyringe';
import {
  ConnectionToken,
  HttpClient,
  RecordError,
  InputError,
  TokenCache,
  type Classification,
  type ConnectionContext,
  type HttpRequest,
  type HttpResponse,
  type IssuedToken,
} from '@qiao/core';

/** The connection block of an OKKI scheme (manifest `connection`), defaults applied. */
export interface OkkiConnectionConfig {
  /** @default "https://api-sandbox.xiaoman.cn" (despite its name, OKKI's only production host) */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated OKKI modules. @default "company" */
  scope: string;
}

/** Query of `GET /v1/company/list`. Numbers or digit strings; `undefined` is left out. */
export interface OkkiCompanyListQuery {
  /** Page number, 1-based (not an offset). */
  start_index: number;
  /** Page size; OKKI serves at most 100. */
  count: number;
  /** `1` returns only deleted customers. */
  removed?: number | string | undefined;
  /** `1` all, `0` private pool, `2` public pool. */
  all?: number | string | undefined;
  group_id?: number | string | undefined;
  /** `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`), China time. */
  start_time?: string | undefined;
  end_time?: string | undefined;
  /** Field the window applies to: `1` update time, `2` create time, `3` filing time. */
  time_type?: number | string | undefined;
}

/** One page of `GET /v1/company/list`, rows as OKKI sent them. */
export interface OkkiCompanyPage {
  list: Record<string, unknown>[];
  /** Total number of matches of the query. */
  totalItem: number;
  /** OKKI's `data.count`. */
  count: number;
  /** OKKI's clock (`now`), China time. */
  now?: string | undefined;
}

/** Label used in every message of this connector. */
export const OKKI_LABEL = '小满 OKKI';
export const OKKI_DEFAULT_BASE_URL = 'https://api-sandbox.xiaoman.cn';
/** Used when the token answer has no `expires_in` (the client-credentials docs promise none). */
export const OKKI_DEFAULT_TOKEN_TTL_MS = 8 * 3600_000;

const TOKEN_CALL = 'oauth2/access_token';
/** Reason of the RecordError the transport raises for a company OKKI does not know (code 404). */
export const OKKI_NOT_FOUND = 'okki.not_found';
const JSON_BODY_REFUSED = 'okki.token_json_refused';

const CREDENTIALS_HINT =
  'check OKKI_CLIENT_ID / clientId and OKKI_CLIENT_SECRET / clientSecret of the okki connection ' +
  '(OKKI open platform → 应用管理 → client_id / client_secret)';

export const OkkiClientToken: InjectionToken<OkkiClient> = Symbol.for('qiao.okki.OkkiClient');

/**
 * The one transport of the OKKI connector: client-credentials token (cached, one shared refresh),
 * envelope checks and error classification, on core's {@link HttpClient} (limiter, retries, redaction).
 */
@injectable()
export class OkkiClient {
  readonly config: OkkiConnectionConfig;
  readonly http: HttpClient;
  private readonly tokens: TokenCache;
  /** Switches to `form` for good once OKKI refuses a JSON token body. */
  private tokenBody: 'json' | 'form' = 'json';

  constructor(@inject(ConnectionToken) readonly connection: ConnectionContext) {
    this.config = readConfig(connection.config);
    const secrets = [...connection.secrets, this.config.clientSecret].filter((s) => s !== '');
    this.tokens = new TokenCache(() => this.issueToken());
    this.http = new HttpClient({
      system: 'okki',
      label: OKKI_LABEL,
      limiter: connection.limiter,
      retry: connection.retry,
      logger: connection.logger,
      secrets,
      classify: classifyOkki,
      auth: {
        token: () => this.tokens.get(),
        peek: () => this.tokens.peek(),
        refresh: (stale) => this.tokens.refresh(stale),
        apply: (request, token) => ({ ...request, headers: { ...request.headers, Authorization: token } }),
      },
    });
  }

  /** The current access token (fetched on first use, then cached until shortly before it expires). */
  token(): Promise<string> {
    return this.tokens.get();
  }

  /** Tokens fetched so far. */
  get tokensIssued(): number {
    return this.tokens.issued;
  }

  /** `GET /v1/company/list`: one page. */
  async listCompanies(query: OkkiCompanyListQuery, signal?: AbortSignal): Promise<OkkiCompanyPage> {
    const res = await this.http.request(
      { method: 'GET', url: this.url('/v1/company/list'), query: { ...query }, name: 'company/list' },
      signal,
    );
    const data = envelopeData(res);
    const list = Array.isArray(data.list) ? (data.list as Record<string, unknown>[]) : [];
    const totalItem = Number(data.totalItem ?? list.length);
    return {
      list,
      totalItem: Number.isFinite(totalItem) ? totalItem : list.length,
      count: Number(data.count ?? list.length),
      now: typeof (res.json as { now?: unknown }).now === 'string' ? (res.json as { now: string }).now : undefined,
    };
  }

  /**
   * `GET /v1/company/info?company_id=`: the detail, as OKKI sent it, or `undefined` when OKKI does not
   * know the id (HTTP 200 with `code: 404`, e.g. deleted since it was listed).
   */
  async companyInfo(companyId: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await this.http.request(
        { method: 'GET', url: this.url('/v1/company/info'), query: { company_id: companyId }, name: 'company/info' },
        signal,
      );
      return envelopeData(res);
    } catch (error) {
      if (error instanceof RecordError && error.reason === OKKI_NOT_FOUND) return undefined;
      throw error;
    }
  }

  private url(path: string): string {
    return this.config.baseUrl + path;
  }

  private async issueToken(): Promise<IssuedToken> {
    const { clientId, clientSecret, scope } = this.config;
    const missing = (['clientId', 'clientSecret'] as const).filter((k) => this.config[k] === '');
    if (missing.length > 0) {
      throw new InputError(
        missing.map((k) => ({
          file: 'connection okki',
          pointer: `/${k}`,
          expected: `a non-empty ${k}`,
          found: 'nothing',
          hint: `set ${k} (e.g. \${env:${k === 'clientId' ? 'OKKI_CLIENT_ID' : 'OKKI_CLIENT_SECRET'}})`,
        })),
        { system: 'okki' },
      );
    }
    const fields = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope };
    const base: HttpRequest = {
      method: 'POST',
      url: this.url('/v1/oauth2/access_token'),
      auth: false,
      // Asking for a token twice is harmless.
      idempotent: true,
      name: TOKEN_CALL,
    };
    let res: HttpResponse;
    if (this.tokenBody === 'json') {
      try {
        res = await this.http.request({ ...base, json: fields });
      } catch (error) {
        if (!(error instanceof RecordError && error.reason === JSON_BODY_REFUSED)) throw error;
        // The docs declare a form body but tell you to send JSON; some gateways only take the form.
        this.connection.logger.debug(`${OKKI_LABEL}: JSON token body refused, sending a form body`);
        this.tokenBody = 'form';
        res = await this.http.request({ ...base, form: fields });
      }
    } else {
      res = await this.http.request({ ...base, form: fields });
    }
    const body = res.json as { access_token: string; expires_in?: unknown };
    const expiresIn = Number(body.expires_in);
    return {
      token: body.access_token,
      expiresInMs: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : OKKI_DEFAULT_TOKEN_TTL_MS,
    };
  }
}

function readConfig(config: Record<string, unknown>): OkkiConnectionConfig {
  const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v).trim());
  return {
    baseUrl: (str(config.baseUrl) || OKKI_DEFAULT_BASE_URL).replace(/\/+$/, ''),
    clientId: str(config.clientId),
    clientSecret: str(config.clientSecret),
    scope: str(config.scope) || 'company',
  };
}

function envelopeData(res: HttpResponse): Record<string, unknown> {
  const data = (res.json as { data?: unknown }).data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

function asObject(json: unknown): Record<string, unknown> | undefined {
  return json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
}

function text(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

/** OKKI's message for an answer, or a short description of the body. */
function describe(res: HttpResponse, body: Record<string, unknown> | undefined): string {
  const m = text(body?.message ?? body?.msg ?? body?.error_description ?? body?.error);
  if (m) return m;
  const snippet = res.text.replace(/\s+/g, ' ').trim().slice(0, 80);
  return snippet ? `"${snippet}${res.text.length > 80 ? '…' : ''}"` : 'empty body';
}

/**
 * How OKKI's answers are classified. Exported for tests; the transport is its only user.
 *
 * | answer | verdict |
 * |---|---|
 * | token call: HTTP 401 / `invalid_client` | `auth` (check client id and secret) |
 * | token call: HTTP 400/415 to a JSON body | `record` `okki.token_json_refused` (the client resends a form) |
 * | HTTP 401, or `error: access_denied` / `invalid_token` | `token_expired` (one shared refresh, then repeat) |
 * | HTTP 429, 5xx | `retry` |
 * | HTTP 200 whose body is not JSON (HTML, truncated) | `retry` |
 * | `no permission … scopes` | `auth` (scope missing) |
 * | HTTP 404 (a wrong host or path; OKKI's own not-found is code 404 under HTTP 200) | `fatal` |
 * | `code` 200 (or 0) | `ok` |
 * | `code` 404 | `record` `okki.not_found` |
 * | other `code` (400, -1, …) | `record` `okki.<code>` with OKKI's message |
 */
export function classifyOkki(res: HttpResponse, req: HttpRequest): Classification {
  const body = asObject(res.json);
  const error = text(body?.error);
  const message = describe(res, body);

  if (req.name === TOKEN_CALL) {
    if (res.status === 401 || error === 'invalid_client') {
      return {
        kind: 'auth',
        reason: 'okki.invalid_client',
        message: `client credentials refused (HTTP ${res.status} ${error || 'unauthorized'}: ${message})`,
        hint: CREDENTIALS_HINT,
      };
    }
    if (res.status === 429 || res.status >= 500) {
      return { kind: 'retry', reason: `okki.http_${res.status}`, message: `HTTP ${res.status} ${message}` };
    }
    if ((res.status === 400 || res.status === 415) && req.json !== undefined) {
      return { kind: 'record', reason: JSON_BODY_REFUSED, message: `JSON body refused (HTTP ${res.status}: ${message})` };
    }
    if (res.status === 200 && body && typeof body.access_token === 'string' && body.access_token !== '') return { kind: 'ok' };
    if (res.status === 200 && !body) return { kind: 'retry', reason: 'okki.bad_body', message: `token answer is not JSON: ${message}` };
    return {
      kind: 'auth',
      reason: error ? `okki.${error}` : `okki.token_http_${res.status}`,
      message: `no access token (HTTP ${res.status}: ${message})`,
      hint: `check the okki connection's scope (granted modules, e.g. "company") and ${CREDENTIALS_HINT}`,
    };
  }

  if (res.status === 401 || error === 'access_denied' || error === 'invalid_token') {
    return { kind: 'token_expired', reason: 'okki.token_expired', message: `token refused (HTTP ${res.status}: ${message})` };
  }
  if (res.status === 429) return { kind: 'retry', reason: 'okki.rate_limited', message: `HTTP 429 ${message}` };
  if (res.status >= 500) return { kind: 'retry', reason: `okki.http_${res.status}`, message: `HTTP ${res.status} ${message}` };
  if (/no permission .*scope/i.test(message)) {
    return {
      kind: 'auth',
      reason: 'okki.scope',
      message: `scope missing: ${message}`,
      hint: 'grant the app the "company" module in the OKKI open platform and include it in the connection\'s scope',
    };
  }
  if (res.status === 403) {
    return { kind: 'auth', reason: 'okki.http_403', message: `HTTP 403 ${message}`, hint: CREDENTIALS_HINT };
  }
  if (res.status === 404) {
    // OKKI answers an unknown id with HTTP 200 and code 404; an HTTP 404 means a wrong host or path.
    return {
      kind: 'fatal',
      reason: 'okki.http_404',
      message: `HTTP 404 ${message}`,
      hint: 'check baseUrl of the okki connection (https://api-sandbox.xiaoman.cn)',
    };
  }
  if (!body) {
    // A gateway page or a cut-off body under HTTP 200: the request itself was fine, so try again.
    return { kind: 'retry', reason: 'okki.bad_body', message: `HTTP ${res.status} answer is not JSON: ${message}` };
  }
  const code = Number(body.code);
  if (body.code === undefined || Number.isNaN(code)) {
    return { kind: 'retry', reason: 'okki.bad_envelope', message: `HTTP ${res.status} answer has no code: ${message}` };
  }
  if (code === 200 || (code === 0 && !error)) {
    // A success envelope must carry what the call returns. Read as empty, a list without `data.list`
    // would end the read early (and the cursor would then pass customers never read); a detail without
    // `data` would deliver the list row's few fields as the whole customer. An empty list may come as
    // `data: []` (OKKI's PHP writes empty data that way, as in its not-found answer) or with totalItem 0.
    const data = asObject(body.data);
    const emptyList = (Array.isArray(body.data) && body.data.length === 0) || (data !== undefined && Number(data.totalItem) === 0);
    if (req.name === 'company/list' && !Array.isArray(data?.list) && !emptyList) {
      return { kind: 'retry', reason: 'okki.bad_envelope', message: `HTTP ${res.status} code ${code} answer has no data.list: ${message}` };
    }
    if (req.name === 'company/info' && !data) {
      return { kind: 'retry', reason: 'okki.bad_envelope', message: `HTTP ${res.status} code ${code} answer has no data object: ${message}` };
    }
    return { kind: 'ok' };
  }
  if (code === 404) return { kind: 'record', reason: OKKI_NOT_FOUND, message: `not found (code 404: ${message})` };
  return { kind: 'record', reason: `okki.${code}`, message: `code ${code}: ${message}` };
}
