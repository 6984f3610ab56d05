import { createHmac } from 'node:crypto';
import {
  HttpClient,
  RecordError,
  TokenCache,
  type AuthProvider,
  type Classification,
  type ConnectionContext,
  type HttpRequest,
  type HttpResponse,
  type IssuedToken,
} from '@qiao/core';
import { compilePath, type CompiledPath } from '../json-path.js';
import type { RestApply, RestAuth, RestManifest, RestMatcher } from '../manifest/rest-manifest-types.js';
import { fill, fillMap, type TemplateScope } from '../template.js';
import { durationMs } from '../time.js';

/** Reason suffix of an answer the envelope calls "not found". */
export const NOT_FOUND = 'not_found';
const TOKEN_CALL = 'auth/token';
const TOKEN_BODY_REFUSED = 'token_body_refused';

type Verdict = 'ok' | 'not_found' | 'token_expired' | 'rate_limited' | 'retry' | 'record_error' | 'fatal';

interface CompiledMatcher {
  test(res: HttpResponse, status: unknown): boolean;
}

/**
 * The one transport of a manifest-declared connection: its auth (header, query, Basic, a cached token
 * from OAuth2 client credentials or a signed token request, refreshed once on a token-expired answer),
 * its envelope (status path and values → ok, not found, token expired, rate limited, record error,
 * fatal) and every request, all on core's {@link HttpClient} (limiter, retries, redaction).
 */
export class RestClient {
  readonly http: HttpClient;
  readonly baseUrl: string;
  readonly system: string;
  readonly label: string;
  private readonly scope: TemplateScope;
  private readonly tokens: TokenCache | undefined;
  private tokenBody: 'json' | 'form';
  private readonly classify: (res: HttpResponse, req: HttpRequest) => Classification;
  /**
   * What an ok answer to a named call must hold (a list its records, a detail its object): an answer
   * without it is retried, never read as empty (an empty page would end the read early and the cursor
   * would pass records never read).
   */
  private readonly expectations = new Map<string, (json: unknown) => string | undefined>();

  constructor(
    readonly manifest: RestManifest,
    readonly connection: ConnectionContext,
  ) {
    this.system = manifest.id;
    this.label = manifest.name;
    this.scope = { connection: connection.config };
    this.baseUrl = String(fill(manifest.baseUrl, this.scope) ?? '').replace(/\/+$/, '');
    const secrets = [...connection.secrets];
    const a = manifest.auth;
    this.tokenBody = a.kind === 'oauth2_client_credentials' && a.body === 'form' ? 'form' : 'json';
    if (a.kind === 'oauth2_client_credentials' || a.kind === 'signed_token') this.tokens = new TokenCache(() => this.issueToken());
    if (a.kind === 'basic') secrets.push(basicValue(a, this.scope));
    this.classify = classifier(manifest, this.tokens !== undefined);
    this.http = new HttpClient({
      system: this.system,
      label: this.label,
      limiter: connection.limiter,
      retry: connection.retry,
      logger: connection.logger,
      secrets: secrets.filter((s) => s !== ''),
      classify: (res, req) => {
        const verdict = this.classify(res, req);
        const expect = verdict.kind === 'ok' && req.name !== undefined ? this.expectations.get(req.name) : undefined;
        const missing = expect?.(res.json);
        return missing ? { kind: 'retry', reason: `${this.system}.bad_envelope`, message: `HTTP ${res.status} ok answer ${missing}` } : verdict;
      },
      auth: authProvider(a, this.scope, this.tokens),
    });
  }

  /** Tokens fetched so far (0 for kinds without a token call). */
  get tokensIssued(): number {
    return this.tokens?.issued ?? 0;
  }

  /** Declares what an ok answer to the call named `name` must hold: returns what is missing, or `undefined`. */
  expect(name: string, check: (json: unknown) => string | undefined): void {
    this.expectations.set(name, check);
  }

  /** An absolute URL for a path template (absolute URLs are kept). */
  url(path: string, scope: TemplateScope = {}): string {
    const p = String(fill(path, { ...this.scope, ...scope }) ?? '');
    return /^https?:\/\//.test(p) ? p : this.baseUrl + (p.startsWith('/') ? p : `/${p}`);
  }

  /** A request with the connection in scope. */
  request(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    return this.http.request(req, signal);
  }

  /** Like {@link request}, but `undefined` when the envelope says not found. */
  async requestOrNotFound(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse | undefined> {
    try {
      return await this.http.request(req, signal);
    } catch (error) {
      if (error instanceof RecordError && error.reason === `${this.system}.${NOT_FOUND}`) return undefined;
      throw error;
    }
  }

  get templateScope(): TemplateScope {
    return this.scope;
  }

  private async issueToken(): Promise<IssuedToken> {
    const a = this.manifest.auth;
    if (a.kind !== 'oauth2_client_credentials' && a.kind !== 'signed_token') throw new Error('no token call for this auth kind');
    const now = Date.now();
    const scope = { ...this.scope, now: { ms: now, s: Math.floor(now / 1000) } };
    const params = Object.fromEntries(Object.entries(fillMap(a.params, scope)).map(([k, v]) => [k, String(v)]));
    const url = this.url(a.tokenUrl);
    const base = { url, auth: false, idempotent: true, name: TOKEN_CALL } as const;
    let res: HttpResponse;
    if (a.kind === 'signed_token') {
      const s = a.signature;
      const over = s.over ?? Object.keys(params);
      const text = over
        .filter((n) => n !== (s.param ?? 'signature'))
        .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
        .map((n) => `${n}${params[n] ?? ''}`)
        .join('');
      const key = String(fill(s.key, this.scope) ?? '');
      params[s.param ?? 'signature'] = createHmac('sha256', key).update(text, 'utf8').digest(s.encoding ?? 'base64');
      res = await this.http.request(a.method === 'POST' ? { ...base, method: 'POST', form: params } : { ...base, method: 'GET', query: params });
    } else if (this.tokenBody === 'json') {
      try {
        res = await this.http.request({ ...base, method: 'POST', json: params });
      } catch (error) {
        if (!(a.body === 'json_then_form' && error instanceof RecordError && error.reason === `${this.system}.${TOKEN_BODY_REFUSED}`)) throw error;
        this.connection.logger.debug(`${this.label}: JSON token body refused, sending a form body`);
        this.tokenBody = 'form';
        res = await this.http.request({ ...base, method: 'POST', form: params });
      }
    } else {
      res = await this.http.request({ ...base, method: 'POST', form: params });
    }
    const token = tokenPathOf(a).first(res.json);
    const life = Number(compilePath(a.expiresInPath ?? '$.expires_in').first(res.json));
    const unit = a.kind === 'signed_token' && a.expiresInUnit === 'ms' ? 1 : 1000;
    return {
      token: String(token),
      expiresInMs: Number.isFinite(life) && life > 0 ? life * unit : durationMs(a.defaultLifetime, 3_600_000),
    };
  }
}

function tokenPathOf(a: Extract<RestAuth, { tokenUrl: string }>): CompiledPath {
  return compilePath(a.tokenPath ?? '$.access_token');
}

function basicValue(a: Extract<RestAuth, { kind: 'basic' }>, scope: TemplateScope): string {
  return Buffer.from(`${String(fill(a.username, scope) ?? '')}:${String(fill(a.password, scope) ?? '')}`).toString('base64');
}

function applyTo(request: HttpRequest, where: RestApply, token: string): HttpRequest {
  const value = (where.prefix ?? '') + token;
  return where.in === 'header'
    ? { ...request, headers: { ...request.headers, [where.name]: value } }
    : { ...request, query: { ...request.query, [where.name]: value } };
}

/** How each auth kind goes on a request, as core's {@link AuthProvider}. */
function authProvider(a: RestAuth, scope: TemplateScope, tokens: TokenCache | undefined): AuthProvider | undefined {
  const fixed = (value: string, where: RestApply): AuthProvider => ({
    token: () => Promise.resolve(value),
    peek: () => value,
    refresh: () => Promise.resolve(value),
    apply: (request, token) => applyTo(request, where, token),
  });
  switch (a.kind) {
    case 'none':
      return undefined;
    case 'api_key':
      return fixed(String(fill(a.value, scope) ?? ''), { in: a.in, name: a.name });
    case 'bearer':
      return fixed(String(fill(a.token, scope) ?? ''), { in: 'header', name: 'Authorization', prefix: 'Bearer ' });
    case 'basic':
      return fixed(basicValue(a, scope), { in: 'header', name: 'Authorization', prefix: 'Basic ' });
    default: {
      const where = a.apply ?? { in: 'header', name: 'Authorization', prefix: 'Bearer ' };
      const t = tokens!;
      return {
        token: () => t.get(),
        peek: () => t.peek(),
        refresh: (stale) => t.refresh(stale),
        apply: (request, token) => applyTo(request, where, token),
      };
    }
  }
}

function compileMatcher(m: RestMatcher): CompiledMatcher {
  if (typeof m !== 'object') {
    const want = String(m);
    return { test: (_res, status) => status !== undefined && status !== null && String(status) === want };
  }
  if ('http' in m) {
    const h = m.http;
    if (typeof h === 'string') {
      const cls = Number(h[0]);
      return { test: (res) => Math.floor(res.status / 100) === cls };
    }
    const list = Array.isArray(h) ? h : [h];
    return { test: (res) => list.includes(res.status) };
  }
  const path = compilePath(m.path);
  const values = m.in.map((v) => String(v));
  return { test: (res) => values.includes(String(path.first(res.json))) };
}

function text(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

/**
 * The classifier of a manifest's envelope. Declared rules come first, in the order token expired,
 * rate limited, retry, fatal, not found, record error, ok; then the defaults: HTTP 429 rate limited,
 * 5xx retry, 401 token expired (auth refused for kinds without a token call), 403 auth, 404 not found
 * when there is no status path (a plain REST API) and fatal otherwise (a wrong path or host), a body
 * that is not JSON retry; then the status value (ok, or `otherwise`, by default a record error).
 */
export function classifier(m: RestManifest, refreshable: boolean): (res: HttpResponse, req: HttpRequest) => Classification {
  const e = m.envelope;
  const system = m.id;
  const status = e.status ? compilePath(e.status) : undefined;
  const messages = (Array.isArray(e.message) ? e.message : e.message ? [e.message] : ['$.message', '$.msg', '$.error_description', '$.error']).map(compilePath);
  const rules: [Verdict, CompiledMatcher[]][] = (
    [
      ['token_expired', e.tokenExpired],
      ['rate_limited', e.rateLimited],
      ['retry', e.retry],
      ['fatal', e.fatal],
      ['not_found', e.notFound],
      ['record_error', e.recordError],
      ['ok', e.ok],
    ] as [Verdict, RestMatcher[] | undefined][]
  ).map(([v, list]) => [v, (list ?? []).map(compileMatcher)]);
  const describe = (res: HttpResponse): string => {
    for (const p of messages) {
      const v = text(p.first(res.json));
      if (v) return v;
    }
    const snippet = res.text.replace(/\s+/g, ' ').trim().slice(0, 80);
    return snippet ? `"${snippet}${res.text.length > 80 ? '…' : ''}"` : 'empty body';
  };
  const hint = e.fatalHint ?? `check baseUrl and the paths of the manifest (${m.name})`;
  const credentialsHint = `check the credentials of the ${m.name} connection (${Object.entries(m.connection.properties ?? {})
    .filter(([, s]) => s['x-secret'] === true)
    .map(([k]) => k)
    .join(', ') || 'its settings'})`;
  const a = m.auth;
  const tokenPath = a.kind === 'oauth2_client_credentials' || a.kind === 'signed_token' ? tokenPathOf(a) : undefined;

  const verdictOf = (v: Verdict, res: HttpResponse, message: string, code: string): Classification => {
    switch (v) {
      case 'ok':
        return { kind: 'ok' };
      case 'not_found':
        return { kind: 'record', reason: `${system}.${NOT_FOUND}`, message: `not found (${code}: ${message})` };
      case 'token_expired':
        return refreshable
          ? { kind: 'token_expired', reason: `${system}.token_expired`, message: `token refused (${code}: ${message})` }
          : { kind: 'auth', reason: `${system}.auth`, message: `credentials refused (${code}: ${message})`, hint: credentialsHint };
      case 'rate_limited':
        return { kind: 'retry', reason: `${system}.rate_limited`, message: `rate limited (${code}: ${message})`, rateLimited: true };
      case 'retry':
        return { kind: 'retry', reason: `${system}.${code.replace(/\s+/g, '_')}`, message: `${code}: ${message}` };
      case 'record_error':
        return { kind: 'record', reason: `${system}.${code.replace(/^code /, '').replace(/\s+/g, '_')}`, message: `${code}: ${message}` };
      case 'fatal':
        return { kind: 'fatal', reason: `${system}.${code.replace(/^code /, '').replace(/\s+/g, '_')}`, message: `${code}: ${message}`, hint };
    }
  };

  return (res, req) => {
    const message = describe(res);
    if (req.name === TOKEN_CALL) {
      if (res.status === 429 || res.status >= 500) return { kind: 'retry', reason: `${system}.http_${res.status}`, message: `HTTP ${res.status} ${message}` };
      if ((res.status === 400 || res.status === 415) && req.json !== undefined && a.kind === 'oauth2_client_credentials' && a.body === 'json_then_form') {
        return { kind: 'record', reason: `${system}.${TOKEN_BODY_REFUSED}`, message: `JSON body refused (HTTP ${res.status}: ${message})` };
      }
      const token = tokenPath?.first(res.json);
      if (res.status >= 200 && res.status < 300 && typeof token === 'string' && token !== '') return { kind: 'ok' };
      if (res.status >= 200 && res.status < 300 && res.json === undefined) return { kind: 'retry', reason: `${system}.bad_body`, message: `token answer is not JSON: ${message}` };
      return { kind: 'auth', reason: `${system}.token_refused`, message: `no access token (HTTP ${res.status}: ${message})`, hint: credentialsHint };
    }
    const value = status?.first(res.json);
    const code = value !== undefined && value !== null ? `code ${text(value)}` : `HTTP ${res.status}`;
    for (const [verdict, matchers] of rules) {
      if (matchers.some((x) => x.test(res, value))) return verdictOf(verdict, res, message, code);
    }
    if (res.status === 429) return verdictOf('rate_limited', res, message, `HTTP 429`);
    if (res.status >= 500) return { kind: 'retry', reason: `${system}.http_${res.status}`, message: `HTTP ${res.status} ${message}` };
    if (res.status === 401) return verdictOf('token_expired', res, message, 'HTTP 401');
    if (res.status === 403) return { kind: 'auth', reason: `${system}.http_403`, message: `HTTP 403 ${message}`, hint: credentialsHint };
    if (res.status === 404) return status ? { kind: 'fatal', reason: `${system}.http_404`, message: `HTTP 404 ${message}`, hint } : verdictOf('not_found', res, message, 'HTTP 404');
    if (res.status >= 400) return verdictOf('record_error', res, message, `HTTP ${res.status}`);
    if (res.status >= 300) return { kind: 'fatal', reason: `${system}.http_${res.status}`, message: `HTTP ${res.status} ${message}`, hint };
    if (res.json === undefined && res.text.trim() !== '') {
      // a gateway page or a cut-off body under HTTP 2xx: the request itself was fine, so try again
      return { kind: 'retry', reason: `${system}.bad_body`, message: `HTTP ${res.status} answer is not JSON: ${message}` };
    }
    if (!status) return { kind: 'ok' };
    if (value === undefined) return { kind: 'retry', reason: `${system}.bad_envelope`, message: `HTTP ${res.status} answer has no ${e.status}: ${message}` };
    if (!e.ok) return { kind: 'ok' };
    return verdictOf(e.otherwise ?? 'record_error', res, message, code);
  };
}
