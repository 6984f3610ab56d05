import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { type Got, type Response } from 'got';
import type { Limiter } from '../contracts/limits.js';
import type { Logger } from '../contracts/logger.js';
import { ConnectorAuthError, QiaoError, RecordError, RetryableError } from '../errors/errors.js';
import { parseJson } from './lossless-json.js';
import { redact } from './redact.js';
import { markRateLimited, parseRetryAfter, withRetry, type RetryPolicy } from './retry-policy.js';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute URL. */
  url: string;
  /** Query parameters; `undefined` values are left out. Encoded once. */
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** A pre-serialised JSON body (lets callers write 19-digit ids as bare numbers). */
  body?: string;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /**
   * Whether repeating the request is harmless. Defaults to true for GET, false otherwise. A
   * non-idempotent request that times out or loses its connection after sending is not repeated:
   * it fails with `RetryableError({ outcomeUnknown: true })` and the caller finds out what happened.
   */
  idempotent?: boolean;
  /** Whether to send the connection's token. @default true */
  auth?: boolean;
  /** Overrides the client's timeout. */
  timeoutMs?: number;
  /** Name of the call in logs and errors (`company/list`). */
  name?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body. */
  text: string;
  /** The body parsed losslessly, or `undefined` when it is not JSON. */
  json: unknown;
  contentType: string;
}

/** What a connector's classifier makes of an answer. */
export type Classification =
  | { kind: 'ok' }
  | {
      kind: 'retry';
      reason: string;
      message: string;
      retryAfterMs?: number;
      /** The system refused the request for its rate limit (HTTP 429 counts as such anyway); the limiter hears of it. */
      rateLimited?: boolean;
    }
  | { kind: 'token_expired'; reason: string; message: string }
  | { kind: 'record'; reason: string; message: string }
  | { kind: 'auth'; reason: string; message: string; hint: string }
  | { kind: 'fatal'; reason: string; message: string; hint?: string };

export interface AuthProvider {
  /** The current token (cached). */
  token(): Promise<string>;
  /** The cached token when it can be used without waiting (saves a promise per request). */
  peek?(): string | undefined;
  /** Replaces a refused token; concurrent callers share one refresh. */
  refresh(stale: string): Promise<string>;
  /** Adds the token to a request. */
  apply(request: HttpRequest, token: string): HttpRequest;
}

export interface HttpClientOptions {
  /** Connector id, used in error reasons (`okki`). */
  system: string;
  /** Display name in messages (`小满 OKKI`). */
  label: string;
  limiter: Limiter;
  retry: RetryPolicy;
  logger: Logger;
  /** Values to redact from every error and log line. */
  secrets: readonly string[];
  /** Bounds each exchange, from sending the request to the end of the answer. @default 60000 */
  timeoutMs?: number;
  classify(response: HttpResponse, request: HttpRequest): Classification;
  auth?: AuthProvider;
}

export interface HttpStats {
  requests: number;
  retries: number;
  tokenRefreshes: number;
}

/**
 * Keep-alive agents shared by every client of the process (a connection's requests, and YonBIP's token
 * and business calls to one host, reuse their sockets). Idle sockets do not keep the process alive.
 */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * got as qiao uses it: every status is an answer for the connector's `classify` (no HTTP errors thrown,
 * no redirects followed), no retries of got's own (HttpClient retries, knowing what is safe to repeat),
 * the body as text (parsed losslessly here), decompression (gzip, deflate, br) and keep-alive.
 */
const transport: Got = got.extend({
  agent: agents,
  retry: { limit: 0 },
  throwHttpErrors: false,
  followRedirect: false,
  decompress: true,
  responseType: 'text',
  allowGetBody: true,
  headers: { 'user-agent': 'qiao' },
});

/**
 * The one HTTP helper every connector's transport uses, on got: the connection's limiter around every
 * request, timeouts, lossless JSON, the connector's classification of answers, retries with backoff and
 * Retry-After, a shared token refresh on token-expired answers, and secrets redacted from errors.
 */
export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, tokenRefreshes: 0 };
  private readonly got: Got;

  constructor(readonly options: HttpClientOptions) {
    this.got = transport.extend({ timeout: { request: options.timeoutMs ?? 60_000 } });
  }

  async request(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const attempt = { token: undefined as string | undefined };
    // Most requests succeed at once: the retry machinery is set up only when the first attempt fails.
    try {
      return await this.attempt(request, signal, attempt);
    } catch (error) {
      if (!(error instanceof RetryableError) || error.outcomeUnknown) throw error;
      let first: RetryableError | undefined = error;
      const { auth, retry, logger } = this.options;
      return withRetry(
        () => {
          if (first) {
            const e = first;
            first = undefined;
            return Promise.reject(e);
          }
          return this.attempt(request, signal, attempt);
        },
        retry,
        {
          signal,
          // An adaptive limiter holds a refused request back itself (it pauses, then spaces starts).
          ...(this.options.limiter.adaptive ? { throttleDelay: () => 0 } : {}),
          refreshToken: async () => {
            if (!auth) return;
            this.stats.tokenRefreshes++;
            await auth.refresh(attempt.token ?? '');
          },
          onRetry: (e, n, delayMs) => {
            this.stats.retries++;
            // a system that does not answer is said at once (people otherwise watch "read 0" and wonder);
            // rate limits and expired tokens are routine and stay in the debug log
            if (e.reason?.endsWith('.network') === true && n === 1) {
              logger.warn(`${this.options.label} ${request.name ?? request.url}: no answer (${e.message.replace(/^.*?:\s*/, '')}); retrying`, { reason: e.reason });
            } else {
              logger.debug(`${this.options.label} ${request.name ?? request.url}: retry ${n} in ${delayMs} ms`, { reason: e.reason, message: e.message });
            }
          },
        },
      );
    }
  }

  /** One attempt with the connection's current token (remembered in `used`, for a refresh). */
  private attempt(request: HttpRequest, signal: AbortSignal | undefined, used: { token: string | undefined }): Promise<HttpResponse> {
    const auth = this.options.auth;
    if (!auth || request.auth === false) return this.once(request, signal);
    // a fresh cached token is used as it is: no promise to wait on (the usual case)
    const cached = auth.peek?.();
    if (cached !== undefined) {
      used.token = cached;
      try {
        return this.once(auth.apply(request, cached), signal);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return auth.token().then((token) => {
      used.token = token;
      return this.once(auth.apply(request, token), signal);
    });
  }

  /** One attempt: limiter, HTTP, classification. Throws qiao errors. */
  private async once(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const { system, label, limiter, secrets } = this.options;
    const idempotent = request.idempotent ?? request.method === 'GET';
    let response: HttpResponse;
    let startedAt = 0;
    try {
      const res = await limiter.schedule(() => {
        this.stats.requests++;
        startedAt = Date.now();
        return this.send(request, signal);
      }, signal);
      const text = res.body;
      response = { status: res.statusCode, headers: res.headers, text, json: tryParse(text), contentType: String(res.headers['content-type'] ?? '') };
    } catch (error) {
      if (signal?.aborted) throw error;
      // the limiter refused before anything was sent (a shared limiter whose Redis is down): its own error
      if (startedAt === 0 && error instanceof QiaoError) throw error;
      throw networkError(error, request, idempotent, label, system, secrets);
    }
    const verdict = this.options.classify(response, request);
    const rateLimited = response.status === 429 || (verdict.kind === 'retry' && verdict.rateLimited === true);
    limiter.observe?.({ rateLimited, retryAfterMs: rateLimited ? retryAfter(verdict, response) : undefined, startedAt });
    if (verdict.kind === 'ok') return response;
    const name = request.name ?? new URL(request.url).pathname;
    const msg = (m: string) => redact(`${label} ${name}: ${m}`, secrets);
    switch (verdict.kind) {
      case 'retry': {
        const error = new RetryableError(msg(verdict.message), {
          system,
          reason: verdict.reason,
          retryAfterMs: retryAfter(verdict, response),
          // A 5xx to a non-idempotent write may have been applied before the server failed. A refusal
          // for the rate limit was not: the gateway turned it away before the API ran, so it is repeated.
          outcomeUnknown: !idempotent && response.status >= 500 && !rateLimited,
        });
        throw rateLimited ? markRateLimited(error) : error;
      }
      case 'token_expired':
        throw new RetryableError(msg(verdict.message), { system, reason: verdict.reason, tokenExpired: true });
      case 'record':
        throw new RecordError(msg(verdict.message), { system, reason: verdict.reason });
      case 'auth':
        throw new ConnectorAuthError(msg(verdict.message), { system, reason: verdict.reason, hint: verdict.hint });
      case 'fatal':
        throw new ConnectorAuthError(msg(verdict.message), {
          system,
          reason: verdict.reason,
          hint: verdict.hint ?? `check the ${label} connection settings`,
        });
    }
  }

  /** One exchange on got; resolves with every answer, rejects with got's errors (codes of node's). */
  private send(request: HttpRequest, signal: AbortSignal | undefined): Promise<Response<string>> {
    const headers: Record<string, string> =
      request.json !== undefined || request.body !== undefined
        ? { 'content-type': 'application/json; charset=utf-8' }
        : request.form !== undefined
          ? { 'content-type': 'application/x-www-form-urlencoded' }
          : {};
    if (request.headers) Object.assign(headers, request.headers);
    const body =
      request.body ??
      (request.json !== undefined ? JSON.stringify(request.json) : request.form !== undefined ? new URLSearchParams(request.form).toString() : undefined);
    return this.got(withQuery(request.url, request.query), {
      method: request.method,
      headers,
      body,
      signal,
      ...(request.timeoutMs !== undefined ? { timeout: { request: request.timeoutMs } } : {}),
    }) as Promise<Response<string>>;
  }
}

/**
 * A request that got no answer, as a RetryableError `<system>.network`. Never sent (refused, name not
 * resolved) is always safe to repeat; a timeout or lost connection after sending is an unknown outcome
 * for a request that is not idempotent. The cause keeps the code and the (redacted) message but not
 * got's error itself, whose options hold the request's headers and URL — tokens included.
 */
function networkError(error: unknown, request: HttpRequest, idempotent: boolean, label: string, system: string, secrets: readonly string[]): RetryableError {
  const code = (error as NodeJS.ErrnoException).code;
  const neverSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  const name = request.name ?? new URL(request.url).pathname;
  const detail = redact(`${code ?? ''} ${(error as Error).message}`.replace(/\s+/g, ' ').trim(), secrets);
  const cause = Object.assign(new Error(detail), { name: (error as Error).name, code });
  return new RetryableError(`${label} ${name}: ${detail}`, {
    system,
    reason: `${system}.network`,
    cause,
    outcomeUnknown: !idempotent && !neverSent,
    hint: `check that ${label} is reachable (${new URL(request.url).origin})`,
  });
}

function retryAfter(verdict: Classification, response: HttpResponse): number | undefined {
  return (verdict.kind === 'retry' ? verdict.retryAfterMs : undefined) ?? parseRetryAfter(response.headers['retry-after']);
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new HttpClient(options);
}

function withQuery(url: string, query: HttpRequest['query']): string {
  if (!query) return url;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  if (parts.length === 0) return url;
  return url + (url.includes('?') ? '&' : '?') + parts.join('&');
}

function tryParse(text: string): unknown {
  const t = text.trimStart();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}
