import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringifyJson } from '@qiao/core';
import { ID_FIELDS, isRow, MerchantStore, type Envelope, type SandboxMerchant, type SeedMerchantInput } from './yonbip-data.js';

/**
 * Faults the sandbox can inject into gateway calls (after the token and rate-limit checks):
 * - `'500'`: a save is applied, then answered HTTP 500 (the backend failed after committing);
 * - `'503'`: HTTP 503 text/plain, nothing applied;
 * - `'310039'`: the app rate-limit answer (HTTP 200), nothing applied;
 * - `'html'`: HTTP 502 with an nginx HTML page, nothing applied;
 * - `'truncated'`: the call is applied and its JSON answer cut in half (HTTP 200);
 * - `'plain-token'`: HTTP 200 text/plain `非法token`, nothing applied.
 */
export type YonbipFaultKind = '500' | '503' | '310039' | 'html' | 'truncated' | 'plain-token';

export interface YonbipSandboxOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** The one tenant the data-center lookup knows. @default 'qiao-demo-tenant' */
  tenantId?: string;
  /** The one self-built app the token service knows. @default 'qiao-demo-app' */
  appKey?: string;
  /** @default 'qiao-demo-secret' */
  appSecret?: string;
  /** Delay before every answer. @default 0 */
  latencyMs?: number;
  /** Share of gateway calls (0..1) that get a fault from `faultKinds`. @default 0 */
  faultRate?: number;
  /** @default ['500', '310039'] */
  faultKinds?: YonbipFaultKind[];
  /** Gateway calls admitted per calendar second; the rest get 310039 (HTTP 200). @default unlimited */
  rateLimitPerSecond?: number;
  /** A token is refused (310036 非法token) once it has been used for this many gateway calls. @default unlimited */
  tokenTtlCalls?: number;
  /** Token lifetime, announced as `expire` and enforced. @default 7200 */
  tokenTtlSeconds?: number;
  /** How far the signed timestamp may be from the sandbox's clock. @default 300000 (5 minutes) */
  timestampWindowMs?: number;
  /** Path prefixes of the gateway and token service. @default { gateway: '/iuap-api-gateway', auth: '/iuap-api-auth' } */
  prefixes?: { gateway?: string; auth?: string };
  /** Random source for ids, tokens and faults. @default Math.random */
  random?: () => number;
}

export interface YonbipSandboxOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** The one tenant the data-center lookup knows. @default 'qiao-demo-tenant' */
  tenantId?: string;
  /** The one self-built app the token service knows. @default 'qiao-demo-app' */
  appKey?: string;
  /** @default 'qiao-demo-secret' */
  appSecret?: string;
  /** Delay before every answer. @default 0 */
  latencyMs?: number;
  /** Share of gateway calls (0..1) that get a fault from `faultKinds`. @default 0 */
  faultRate?: number;
  /** @default ['500', '310039'] */
  faultKinds?: YonbipFaultKind[];
  /** Gateway calls admitted per calendar second; the rest get 310039 (HTTP 200). @default unlimited */
  rateLimitPerSecond?: number;
  /** A token is refused (310036 非法token) once it has been used for this many gateway calls. @default unlimited */
  tokenTtlCalls?: number;
  /** Token lifetime, announced as `expire` and enforced. @default 7200 */
  tokenTtlSeconds?: number;
  /** How far the signed timestamp may be from the sandbox's clock. @default 300000 (5 minutes) */
  timestampWindowMs?: number;
  /** Path prefixes of the gateway and token service. @default { gateway: '/iuap-api-gateway', auth: '/iuap-api-auth' } */
  prefixes?: { gateway?: string; auth?: string };
  /** Random source for ids, tokens and faults. @default Math.random */
  random?: () => number;
}

export interface YonbipSandboxCounters {
  /** Data-center lookups. */
  lookup: number;
  /** Token requests (granted or not). */
  token: number;
  /** Save calls received by the gateway (before any check). */
  save: number;
  list: number;
  detail: number;
  /** Customers created through the API. */
  inserts: number;
  /** Customers updated through the API. */
  updates: number;
  /** Calls refused by `rateLimitPerSecond`. */
  rateLimited: number;
  /** Injected faults. */
  faults: number;
  /** Calls refused with 310036 (unknown or expired token). */
  tokenExpired: number;
  /** Every HTTP request. */
  total: number;
}

export interface SandboxRequest {
  method: string;
  path: string;
  /** The query string exactly as sent (not decoded). */
  rawQuery: string;
}

/** The gateway APIs of the sandbox. */
export type YonbipSandboxApi = 'save' | 'list' | 'detail';

const TOKEN_PATHS = ['/open-auth/selfAppAuth/base/v1/getAccessToken', '/open-auth/selfAppAuth/getAccessToken'];
const LOOKUP_PATH = '/open-auth/dataCenter/getGatewayAddress';
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/**
 * A local simulator of the YonBIP open platform on 127.0.0.1: the data-center lookup, the
 * self-built-app token service (real HMAC-SHA256 signature check) and the business gateway with
 * merchant save/list/detail, following shared/api/yonbip.md. 19-digit ids are written as bare JSON
 * numbers, and compared as exact strings. The customers and BIP's rules for them are in
 * {@link MerchantStore}. Start it with {@link startYonbipSandbox}.
 */
export class YonbipSandbox {
  /** Live counters. */
  readonly counters: YonbipSandboxCounters = {
    lookup: 0,
    token: 0,
    save: 0,
    list: 0,
    detail: 0,
    inserts: 0,
    updates: 0,
    rateLimited: 0,
    faults: 0,
    tokenExpired: 0,
    total: 0,
  };
  /** The last 500 requests, oldest first. */
  readonly requests: SandboxRequest[] = [];
  readonly credentials: { tenantId: string; appKey: string; appSecret: string };

  private readonly server: Server;
  private readonly store: MerchantStore;
  private readonly random: () => number;
  private readonly tokenTtlSeconds: number;
  private readonly tokenTtlCalls: number | undefined;
  private readonly timestampWindowMs: number;
  private readonly gatewayPrefix: string;
  private readonly authPrefix: string;
  private readonly tokens = new Map<string, { expiresAt: number; calls: number }>();
  private readonly drops: Array<'destroy' | 'stall'> = [];
  private readonly planned: Record<YonbipSandboxApi, YonbipFaultKind[]> = { save: [], list: [], detail: [] };
  private readonly stalled = new Set<ServerResponse>();
  private window = { second: 0, count: 0 };
  private latencyMs: number;
  private faultRate: number;
  private faultKinds: YonbipFaultKind[];
  private rateLimit: number | undefined;
  private listenPort = 0;

  constructor(private readonly options: YonbipSandboxOptions = {}) {
    this.credentials = {
      tenantId: options.tenantId ?? 'qiao-demo-tenant',
      appKey: options.appKey ?? 'qiao-demo-app',
      appSecret: options.appSecret ?? 'qiao-demo-secret',
    };
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 7200;
    this.tokenTtlCalls = options.tokenTtlCalls;
    this.timestampWindowMs = options.timestampWindowMs ?? 300_000;
    this.gatewayPrefix = options.prefixes?.gateway ?? '/iuap-api-gateway';
    this.authPrefix = options.prefixes?.auth ?? '/iuap-api-auth';
    this.random = options.random ?? Math.random;
    this.latencyMs = options.latencyMs ?? 0;
    this.faultRate = options.faultRate ?? 0;
    this.faultKinds = options.faultKinds ?? ['500', '310039'];
    this.rateLimit = options.rateLimitPerSecond;
    this.store = new MerchantStore(this.random, this.counters);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { code: '500', message: `sandbox error: ${(error as Error).message}` });
        else res.destroy();
      });
    });
  }

  /** Starts listening. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops open connections, stalled answers included. */
  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  get port(): number {
    return this.listenPort;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  /** Where the data-center lookup answers (= url). */
  get dataCenterUrl(): string {
    return this.url;
  }

  /** url + the gateway prefix, as the lookup returns it. */
  get gatewayUrl(): string {
    return this.url + this.gatewayPrefix;
  }

  /** url + the auth prefix, as the lookup returns it. */
  get tokenUrl(): string {
    return this.url + this.authPrefix;
  }

  /** Saved customers, in creation order (copies). */
  merchants(): SandboxMerchant[] {
    return this.store.all();
  }

  merchantByCode(code: string): SandboxMerchant | undefined {
    return this.store.byCode(code);
  }

  /** Code → number of Inserts ever applied through the API (seeds not counted). */
  insertsByCode(): Map<string, number> {
    return this.store.insertsByCode();
  }

  setFaults(rate: number, kinds?: YonbipFaultKind[]): void {
    this.faultRate = rate;
    if (kinds) this.faultKinds = [...kinds];
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  setRateLimit(perSecond: number | undefined): void {
    this.rateLimit = perSecond;
  }

  /** Pre-creates a customer (e.g. to provoke 客户名称重复). */
  seedMerchant(input: SeedMerchantInput): SandboxMerchant {
    return this.store.seed(input);
  }

  /** Renames a customer, as a user would in BIP (e.g. to resolve 客户名称重复). Returns false if the code is unknown. */
  renameMerchant(code: string, name: string): boolean {
    return this.store.rename(code, name);
  }

  /** Makes every token issued so far invalid (the next gateway call gets 310036). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /**
   * The next `n` successful saves are applied, then their connection is destroyed (`'destroy'`) or
   * left without an answer until the client gives up (`'stall'`): the client cannot know the outcome.
   */
  dropAfterCommit(n: number, mode: 'destroy' | 'stall' = 'destroy'): void {
    for (let i = 0; i < n; i++) this.drops.push(mode);
  }

  /** The next `n` calls of `api` get fault `kind` (deterministic, on top of `faultRate`). */
  failNext(api: YonbipSandboxApi, kind: YonbipFaultKind, n = 1): void {
    for (let i = 0; i < n; i++) this.planned[api].push(kind);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.total++;
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, rawQuery });
    if (this.requests.length > 500) this.requests.shift();
    const body = await readBody(req);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    // Java servlet decoding: `+` is a space, `%2B` a plus.
    const params = new URLSearchParams(rawQuery);

    if (path === LOOKUP_PATH && method === 'GET') return send(res, 200, this.lookup(params));
    if (TOKEN_PATHS.some((p) => path === this.authPrefix + p) && method === 'GET') return send(res, 200, this.issueToken(params));
    if (path.startsWith(`${this.gatewayPrefix}/`)) {
      const api = `${method} ${path.slice(this.gatewayPrefix.length)}`;
      if (api === 'POST /yonbip/digitalModel/merchant/save') return this.gateway(req, res, params, 'save', () => this.store.save(body));
      if (api === 'POST /yonbip/digitalModel/merchant/list') return this.gateway(req, res, params, 'list', () => this.store.list(body));
      if (api === 'GET /yonbip/digitalModel/merchant/detail') return this.gateway(req, res, params, 'detail', () => this.store.detail(params.get('id') ?? ''));
    }
    send(res, 404, { code: '310404', message: 'API不存在' });
  }

  private lookup(params: URLSearchParams): Envelope {
    this.counters.lookup++;
    if (params.get('tenantId') !== this.credentials.tenantId) return { code: '500', message: '根据租户id获取网关地址出现异常' };
    return { code: '00000', message: '成功！', data: { gatewayUrl: this.gatewayUrl, tokenUrl: this.tokenUrl } };
  }

  private issueToken(params: URLSearchParams): Envelope {
    this.counters.token++;
    if (params.get('appKey') !== this.credentials.appKey) return { code: '10018', message: '应用不存在或appKey已停用' };
    const timestamp = params.get('timestamp') ?? '';
    if (!/^\d{13}$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > this.timestampWindowMs) {
      return { code: '10020', message: '时间戳无效或已超出有效期' };
    }
    const signed = [...params.keys()]
      .filter((k) => k !== 'signature')
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((k) => `${k}${params.get(k)}`)
      .join('');
    const expected = createHmac('sha256', this.credentials.appSecret).update(signed, 'utf8').digest('base64');
    if (params.get('signature') !== expected) return { code: '10019', message: '签名校验失败' };
    const b = randomBytes(36).toString('base64');
    // Real tokens carry `+ / =`: a client that does not URL-encode them is refused.
    const token = `yht${b.slice(0, 16)}+${b.slice(16, 32)}/${b.slice(32)}==`;
    this.tokens.set(token, { expiresAt: Date.now() + this.tokenTtlSeconds * 1000, calls: 0 });
    return { code: '00000', message: '成功！', data: { access_token: token, expire: this.tokenTtlSeconds } };
  }

  private async gateway(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    name: YonbipSandboxApi,
    run: () => Envelope,
  ): Promise<void> {
    this.counters[name]++;
    // A Bearer header is not accepted: only the access_token parameter counts.
    const token = params.get('access_token');
    if (!token) return send(res, 200, { code: '310001', message: 'access_token不能为空' });
    const t = this.tokens.get(token);
    if (!t || Date.now() >= t.expiresAt || (this.tokenTtlCalls !== undefined && t.calls >= this.tokenTtlCalls)) {
      this.counters.tokenExpired++;
      return send(res, 200, { code: '310036', message: '非法token' });
    }
    t.calls++;
    if (this.rateLimit !== undefined) {
      const second = Math.floor(Date.now() / 1000);
      if (this.window.second !== second) this.window = { second, count: 0 };
      if (this.window.count >= this.rateLimit) {
        this.counters.rateLimited++;
        return send(res, 200, { code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' });
      }
      this.window.count++;
    }
    const fault =
      this.planned[name].shift() ??
      (this.faultRate > 0 && this.faultKinds.length > 0 && this.random() < this.faultRate ? this.faultKinds[Math.floor(this.random() * this.faultKinds.length)] : undefined);
    if (fault) this.counters.faults++;
    switch (fault) {
      case '503':
        return sendText(res, 503, 'text/plain', 'Service Unavailable');
      case 'html':
        return sendText(res, 502, 'text/html', NGINX_502);
      case '310039':
        return send(res, 200, { code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' });
      case 'plain-token':
        return sendText(res, 200, 'text/plain;charset=UTF-8', '非法token');
      default:
    }
    const answer = run();
    if (fault === '500') return send(res, 500, { code: '500', message: '网关内部错误' });
    if (fault === 'truncated') {
      const text = stringifyJson(toWire(answer));
      return sendText(res, 200, 'application/json;charset=UTF-8', text.slice(0, Math.floor(text.length / 2)));
    }
    if (name === 'save' && String(answer.code) === '200' && this.drops.length > 0) {
      const mode = this.drops.shift();
      if (mode === 'destroy') {
        req.socket.destroy();
        return;
      }
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return;
    }
    send(res, 200, answer);
  }
}

/** Starts a YonBIP simulator on 127.0.0.1 and resolves once it listens. */
export async function startYonbipSandbox(options: YonbipSandboxOptions = {}): Promise<YonbipSandbox> {
  return new YonbipSandbox(options).listen();
}

/** Ids become bigint so they are written as bare JSON numbers with every digit. */
function toWire(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => toWire(v));
  if (isRow(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v, k)]));
  if (key !== undefined && ID_FIELDS.has(key) && typeof value === 'string' && /^\d{1,19}$/.test(value)) return BigInt(value);
  return value;
}

function send(res: ServerResponse, status: number, envelope: Envelope): void {
  sendText(res, status, 'application/json;charset=UTF-8', stringifyJson(toWire(envelope)));
}

function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
