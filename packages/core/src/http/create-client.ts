import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import type { Logger } from '../contracts/logger.js';
import { ConnectorAuthError, RecordError, RetryableError } from '../errors/errors.js';
import type { Limiter } from '../executor/limiter.js';
import { parseRetryAfter, withRetry, type RetryPolicy } from '../executor/retry.js';
import { parseJson } from './lossless-json.js';
import { redact } from './redact.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
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
   * Whether repeating the request is harmless. Defaults to true for GET, false for POST. A
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
  | { kind: 'retry'; reason: string; message: string; retryAfterMs?: number }
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
  /** @default 60000 */
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
 * The one HTTP helper every connector's transport uses: the connection's limiter around every request,
 * timeouts, lossless JSON, the connector's classification of answers, retries with backoff and
 * Retry-After, a shared token refresh on token-expired answers, and secrets redacted from errors.
 */
export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, tokenRefreshes: 0 };

  constructor(readonly options: HttpClientOptions) {}

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
          refreshToken: async () => {
            if (!auth) return;
            this.stats.tokenRefreshes++;
            await auth.refresh(attempt.token ?? '');
          },
          onRetry: (e, n, delayMs) => {
            this.stats.retries++;
            logger.debug(`${this.options.label} ${request.name ?? request.url}: retry ${n} in ${delayMs} ms`, {
              reason: e.reason,
              message: e.message,
            });
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
    const name = request.name ?? new URL(request.url).pathname;
    const idempotent = request.idempotent ?? request.method === 'GET';
    const url = withQuery(request.url, request.query);
    let response: HttpResponse;
    try {
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
      const timeoutMs = request.timeoutMs ?? this.options.timeoutMs ?? 60_000;
      const res = await limiter.schedule(() => {
        this.stats.requests++;
        return exchange(url, request.method, headers, body, timeoutMs, signal);
      }, signal);
      response = {
        status: res.status,
        headers: res.headers,
        text: res.body,
        json: tryParse(res.body),
        contentType: String(res.headers['content-type'] ?? ''),
      };
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      const neverSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      const message = redact(`${label} ${name}: ${code ?? ''} ${(error as Error).message}`.replace(/\s+/g, ' '), secrets);
      throw new RetryableError(message, {
        system,
        reason: `${system}.network`,
        cause: error,
        outcomeUnknown: !idempotent && !neverSent,
        hint: `check that ${label} is reachable (${new URL(request.url).origin})`,
      });
    }
    const verdict = this.options.classify(response, request);
    if (verdict.kind === 'ok') return response;
    const msg = (m: string) => redact(`${label} ${name}: ${m}`, secrets);
    switch (verdict.kind) {
      case 'retry':
        throw new RetryableError(msg(verdict.message), {
          system,
          reason: verdict.reason,
          retryAfterMs: verdict.retryAfterMs ?? parseRetryAfter(response.headers['retry-after']),
          // A 5xx to a non-idempotent write may have been applied before the server failed.
          outcomeUnknown: !idempotent && response.status >= 500,
        });
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
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new HttpClient(options);
}

const decoders: Record<string, (buffer: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  br: promisify(brotliDecompress),
  // "deflate" is meant to be zlib-wrapped; some servers send it raw.
  deflate: async (buffer) => promisify(inflate)(buffer).catch(() => promisify(inflateRaw)(buffer)),
};

/**
 * One HTTP exchange on node:http(s) with the default keep-alive agents: redirects are not followed,
 * every status is returned, the body is decompressed and decoded as UTF-8, and `timeoutMs` bounds the
 * whole exchange (an `ETIMEDOUT` error). Plain node:http rather than a client library: per request it
 * costs a fraction of the CPU (bench/vs-handwritten.mjs), and the client does nothing more.
 */
function exchange(
  url: string,
  method: string,
  requestHeaders: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const target = requestTarget(url);
    const headers: OutgoingHttpHeaders = requestHeaders;
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      forget?.();
      req.destroy();
      reject(error);
    };
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const send = target.https ? httpsRequest : httpRequest;
    // one listener per signal for all requests (see onAbort), rather than one per request
    const forget = signal ? onAbort(signal, () => fail(abortError(signal))) : undefined;
    const req = send({ ...target.options, path: target.path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        if (settled) return;
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        const decode = encoding === undefined ? undefined : decoders[encoding.trim().toLowerCase()];
        const done = (decoded: Buffer) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          forget?.();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: decoded.toString('utf8') });
        };
        if (decode) decode(raw).then(done, (error: Error) => fail(error));
        else done(raw);
      });
    });
    const timer = setTimeout(
      () => fail(Object.assign(new Error(`Timeout awaiting '${method} ${target.origin}${target.path.replace(/\?.*/, '')}' for ${timeoutMs}ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    req.on('error', fail);
    req.end(body);
  });
}

interface RequestTarget {
  https: boolean;
  /** node:http options of the origin (protocol, host name, port). */
  options: RequestOptions;
  origin: string;
  /** Path and query. */
  path: string;
}

const ORIGIN_AND_PATH = /^(https?:\/\/[^/?#]+)([/?][\x21-\x22\x24-\x7e]*)?$/;
const origins = new Map<string, { https: boolean; options: RequestOptions; origin: string }>();

/**
 * What node:http needs of a URL. A connector talks to one or two origins, so each origin is parsed once
 * (WHATWG URL) and a plain path and query is used as it is; anything unusual (characters URL parsing
 * would encode, a fragment) goes through URL parsing every time.
 */
function requestTarget(url: string): RequestTarget {
  // A connection repeats its URLs (YonBIP's gateway calls carry the same token until it changes)
  let target = targets.get(url);
  if (target) return target;
  target = parseTarget(url);
  if (targets.size >= 256) targets.clear();
  targets.set(url, target);
  return target;
}

/** Recently used URLs and what node:http needs of them. */
const targets = new Map<string, RequestTarget>();

function parseTarget(url: string): RequestTarget {
  const m = ORIGIN_AND_PATH.exec(url);
  if (m) {
    let o = origins.get(m[1]!);
    if (!o) {
      const parsed = new URL(m[1]!);
      const h = urlToHttpOptions(parsed);
      const options: RequestOptions = { protocol: h.protocol ?? null, hostname: h.hostname ?? null };
      if (h.port !== undefined && h.port !== '') options.port = h.port;
      if (h.auth) options.auth = h.auth;
      o = { https: parsed.protocol === 'https:', options, origin: parsed.origin };
      if (origins.size > 100) origins.clear();
      origins.set(m[1]!, o);
    }
    return { ...o, path: m[2] ?? '/' };
  }
  const parsed = new URL(url);
  const options = urlToHttpOptions(parsed);
  return { https: parsed.protocol === 'https:', options, origin: parsed.origin, path: options.path ?? '/' };
}

/**
 * Requests waiting on each abort signal, in numbered slots (a free slot is reused). A run's requests
 * share a few long-lived signals: an EventTarget listener per request costs a walk of all the others on
 * every add and remove, and keeping each request's abort function in a Set or Map made V8 keep every
 * request's objects — answer text, parsed body, node:http's request — through young-generation GCs
 * (5 KB promoted per request, a third of a run's GC time; measured with --trace-gc-nvp, not with slots).
 */
interface Waiting {
  slots: Array<(() => void) | undefined>;
  free: number[];
}
const waitingOn = new WeakMap<AbortSignal, Waiting>();

/** Calls `fn` when `signal` aborts; returns a function that forgets it. */
function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let waiting = waitingOn.get(signal);
  if (!waiting) {
    const w: Waiting = { slots: [], free: [] };
    waiting = w;
    waitingOn.set(signal, w);
    signal.addEventListener(
      'abort',
      () => {
        const fns = w.slots.filter((f) => f !== undefined);
        w.slots = [];
        w.free = [];
        for (const f of fns) f();
      },
      { once: true },
    );
  }
  const w = waiting;
  const slot = w.free.length > 0 ? w.free.pop()! : w.slots.length;
  w.slots[slot] = fn;
  const slots = w.slots;
  return () => {
    // after an abort the slots were handed over and emptied: nothing to forget
    if (slots !== w.slots || slots[slot] !== fn) return;
    slots[slot] = undefined;
    w.free.push(slot);
  };
}

/** The error node:http gives a request whose signal aborts. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
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
