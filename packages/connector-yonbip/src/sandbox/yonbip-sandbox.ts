import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringifyJson } from '@qiao/core';
import {
  defaultTenant,
  ID_FIELDS,
  isRow,
  MerchantStore,
  type Envelope,
  type SandboxCustomerClass,
  type SandboxMerchant,
  type SandboxOrg,
  type SeedMerchantInput,
} from './yonbip-data.js';
import { MerchantV2Api } from './yonbip-v2-data.js';

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

/**
 * The platform codes the gateway can be told to answer (shared/api/yonbip.md "Platform codes";
 * skillify errors-and-limits §3). Each is sent as the real gateway sends it: HTTP 200 with the code in
 * the body, except 310404 (HTTP 404).
 */
export type YonbipPlatformCode =
  | '202'
  | '310001'
  | '310008'
  | '310015'
  | '310023'
  | '310032'
  | '310036'
  | '310037'
  | '310039'
  | '310042'
  | '310043'
  | '310046'
  | '310071'
  | '310072'
  | '310078'
  | '310404'
  | '310504'
  | '999';

/** When the gateway answers a platform code (see {@link YonbipSandbox.answerCode}). */
export interface YonbipCodePlan {
  /**
   * Which calls: an API of the sandbox (`'save'`), or a gateway path (`'/yonbip/digitalModel/merchant/save'`).
   * @default every gateway call
   */
  on?: YonbipSandboxApi | string;
  /** How many matching calls get the code. @default Infinity (every one, until {@link YonbipSandbox.clearCodes}) */
  times?: number;
  /**
   * Apply the call before answering the code, as a backend does that commits and then times out.
   * @default true for 310504, 310078 and 202 (the outcome is unknown: it may have been applied), false otherwise
   */
  applied?: boolean;
}

/** The platform's wording of each code (observed where the notes say so, else the code table's 说明). */
const CODE_MESSAGES: Record<YonbipPlatformCode, string> = {
  '202': '幂等接口，后端服务正在处理中',
  '310001': 'access_token不能为空。',
  '310008': '参数校验失败，缺少必填参数',
  '310015': '参数校验错误，未通过参数正则匹配',
  '310023': '参数类型校验失败',
  '310032': '触发了系统级限流，请稍后再试',
  '310036': '非法token',
  '310037': 'API未被授权，请联系管理员在开放平台进行API授权',
  '310039': '当前 app 访问频率超出限制(app 限流)，请稍后再试',
  '310042': '触发了产品级限流，请稍后再试',
  '310043': '此API触发熔断，请稍后再试',
  '310046': '触发了API级限流，请稍后再试',
  '310071': 'HTTP请求失败，后端服务异常',
  '310072': 'HTTP连接被拒绝',
  '310078': '后端服务请求超时',
  '310404': '网关上没有注册此API',
  '310504': '请求超时',
  '999': '服务端逻辑异常',
};

/** A gateway quota of the simulator: `calls` per `windowMs`, in `fixed` windows on the clock or a `sliding` one. */
export interface YonbipQuota {
  calls: number;
  windowMs: number;
  /** @default 'fixed' */
  kind?: 'fixed' | 'sliding';
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
  /**
   * A quota of `calls` gateway calls per `windowMs`, as YonBIP publishes 40–60 calls a minute for
   * several APIs and documents no window: `fixed` windows on the clock (the default) or `sliding` (no
   * window, wherever it starts, holds more). The calls beyond it get 310039 on HTTP 200, with no
   * Retry-After, and are not applied. Scaled down in time for tests (20 per 5 s for 60 a minute).
   * @default none
   */
  quota?: YonbipQuota | undefined;
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
  /**
   * The tenant's organisations (业务单元): inserts into any other `createOrg` are refused (管理组织[…]不存在).
   * @default [{ id: YONBIP_SANDBOX_ORG, code: 'qiao-sim', name: '桥模拟组织' }]
   */
  orgs?: SandboxOrg[];
  /** The tenant's customer classes (客户分类). @default [{ id: YONBIP_SANDBOX_CUSTOMER_CLASS, code: '01', … }] */
  customerClasses?: SandboxCustomerClass[];
  /**
   * A coding rule (编码规则) for customers: every Insert gets the next generated code (`KH000001`…)
   * instead of the one sent, the answer carries it, and an Update may not change it.
   * @default none: the code sent is kept
   * @example { prefix: 'KH' }
   */
  codingRule?: { prefix: string };
  /**
   * Business-detail fields (`merchantAppliedDetail.*`) this tenant requires on insert; an Insert
   * without one is refused with 999 `客户业务信息的[专管业务员]不能为空!`.
   * @default []
   * @example ['professSalesman', 'taxRate']
   */
  requiredAppliedDetail?: string[];
  /**
   * Gateway paths this tenant does not have: they answer HTTP 404 310404, as an unregistered path
   * does, whatever the token (e.g. a tenant without the classic `/yonbip/digitalModel/merchant/list`).
   * @default []
   */
  missingApis?: string[];
  /** Gateway paths the app is not authorised for: they answer 310037 once the token is valid. @default [] */
  unauthorisedApis?: string[];
  /** Platform codes to answer from the start (see {@link YonbipSandbox.answerCode}). @default [] */
  codes?: Array<{ code: YonbipPlatformCode } & YonbipCodePlan>;
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
  /** `orgunit/querytree` calls. */
  orgTree: number;
  /** `custcategory/tree` calls. */
  classTree: number;
  /** `merchant/stop` calls (客户停用). */
  stop: number;
  /** `merchant/unstop` calls (客户启用). */
  unstop: number;
  /** V2: `merchant/newlist` calls. */
  newlist: number;
  /** V2: `merchant/idempotent/newinsert` calls. */
  newinsert: number;
  /** V2: `merchant/newupdate` calls. */
  newupdate: number;
  /** V2: `batch/merchant/save` calls. */
  batchSave: number;
  /** V2: `merchant/newBatchDetail` calls. */
  batchDetail: number;
  /** Customers created through the API. */
  inserts: number;
  /** Customers updated through the API. */
  updates: number;
  /** Calls refused by `rateLimitPerSecond` or the `quota`. */
  rateLimited: number;
  /** Injected faults. */
  faults: number;
  /** Calls refused with 310036 (unknown or expired token). */
  tokenExpired: number;
  /** Platform codes answered on demand ({@link YonbipSandbox.answerCode}, `unauthorisedApis`, `missingApis`), by code. */
  codes: Record<string, number>;
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
export type YonbipSandboxApi = 'save' | 'list' | 'detail' | 'orgTree' | 'classTree' | 'stop' | 'unstop' | 'newlist' | 'newinsert' | 'newupdate' | 'batchSave' | 'batchDetail';

/** The APIs that write: a dropped answer ({@link YonbipSandbox.dropAfterCommit}) applies to these. */
const WRITE_APIS: ReadonlySet<YonbipSandboxApi> = new Set(['save', 'newinsert', 'newupdate', 'batchSave']);

/** The registered gateway paths of the sandbox: `METHOD path` → its API. */
const ROUTES: Record<string, YonbipSandboxApi> = {
  'POST /yonbip/digitalModel/merchant/save': 'save',
  'POST /yonbip/digitalModel/merchant/list': 'list',
  'GET /yonbip/digitalModel/merchant/detail': 'detail',
  'POST /yonbip/digitalModel/orgunit/querytree': 'orgTree',
  'POST /yonbip/digitalModel/custcategory/tree': 'classTree',
  'POST /yonbip/digitalModel/merchant/stop': 'stop',
  'POST /yonbip/digitalModel/merchant/unstop': 'unstop',
  'POST /yonbip/digitalModel/merchant/newlist': 'newlist',
  'POST /yonbip/digitalModel/merchant/idempotent/newinsert': 'newinsert',
  'POST /yonbip/digitalModel/merchant/newupdate': 'newupdate',
  'POST /yonbip/digitalModel/batch/merchant/save': 'batchSave',
  'POST /yonbip/digitalModel/merchant/newBatchDetail': 'batchDetail',
};

const TOKEN_PATHS = ['/open-auth/selfAppAuth/base/v1/getAccessToken', '/open-auth/selfAppAuth/getAccessToken'];
const LOOKUP_PATH = '/open-auth/dataCenter/getGatewayAddress';
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/**
 * A local simulator of the YonBIP open platform on 127.0.0.1: the data-center lookup, the
 * self-built-app token service (real HMAC-SHA256 signature check) and the business gateway with
 * merchant save/list/detail/stop/unstop, following shared/api/yonbip.md. 19-digit ids are written as bare JSON
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
    orgTree: 0,
    classTree: 0,
    stop: 0,
    unstop: 0,
    newlist: 0,
    newinsert: 0,
    newupdate: 0,
    batchSave: 0,
    batchDetail: 0,
    inserts: 0,
    updates: 0,
    rateLimited: 0,
    faults: 0,
    tokenExpired: 0,
    codes: {},
    total: 0,
  };
  /** When each gateway call with a valid token arrived (`performance.now()`), oldest first: what a rate limit counts. */
  readonly gatewayTimes: number[] = [];
  /** The last 500 requests, oldest first. */
  readonly requests: SandboxRequest[] = [];
  /** When the quota (see {@link YonbipSandboxOptions.quota}) let each gateway call through, and when it refused one (ms since the epoch). */
  readonly quotaLog: { admitted: number[]; refused: number[] } = { admitted: [], refused: [] };
  readonly credentials: { tenantId: string; appKey: string; appSecret: string };

  private readonly server: Server;
  private readonly store: MerchantStore;
  private readonly v2: MerchantV2Api;
  private readonly random: () => number;
  private readonly tokenTtlSeconds: number;
  private readonly tokenTtlCalls: number | undefined;
  private readonly timestampWindowMs: number;
  private readonly gatewayPrefix: string;
  private readonly authPrefix: string;
  private readonly tokens = new Map<string, { expiresAt: number; calls: number }>();
  private readonly drops: Array<'destroy' | 'stall'> = [];
  private readonly planned: Record<YonbipSandboxApi, YonbipFaultKind[]> = {
    save: [],
    list: [],
    detail: [],
    orgTree: [],
    classTree: [],
    stop: [],
    unstop: [],
    newlist: [],
    newinsert: [],
    newupdate: [],
    batchSave: [],
    batchDetail: [],
  };
  private readonly codePlans: Array<{ code: YonbipPlatformCode; on: string | undefined; left: number; applied: boolean }> = [];
  private readonly missingApis: Set<string>;
  private readonly unauthorisedApis: Set<string>;
  private readonly stalled = new Set<ServerResponse>();
  private window = { second: 0, count: 0 };
  private quota: YonbipQuota | undefined;
  /** When each call the quota let through was admitted (ms since the epoch), for its windows. */
  private quotaAdmitted: number[] = [];
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
    this.quota = options.quota && { ...options.quota };
    const tenant = defaultTenant();
    if (options.orgs) tenant.orgs = options.orgs.map((o) => ({ ...o }));
    if (options.customerClasses) tenant.customerClasses = options.customerClasses.map((c) => ({ ...c }));
    if (options.codingRule) tenant.codingRule = { ...options.codingRule };
    tenant.requiredAppliedDetail = [...(options.requiredAppliedDetail ?? [])];
    this.store = new MerchantStore(this.random, this.counters, tenant);
    this.v2 = new MerchantV2Api(this.store);
    this.missingApis = new Set(options.missingApis ?? []);
    this.unauthorisedApis = new Set(options.unauthorisedApis ?? []);
    for (const { code, ...plan } of options.codes ?? []) this.answerCode(code, plan);
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

  /** Sets (or with undefined lifts) the gateway's quota of calls per window (see {@link YonbipSandboxOptions.quota}). */
  setQuota(quota: YonbipQuota | undefined): void {
    this.quota = quota && { ...quota };
    this.quotaAdmitted = [];
  }

  /** Whether the quota refuses a call now; counts it as admitted otherwise. */
  private overQuota(now: number): boolean {
    const q = this.quota;
    if (!q) return false;
    const from = q.kind === 'sliding' ? now - q.windowMs : Math.floor(now / q.windowMs) * q.windowMs;
    const kept = this.quotaAdmitted.filter((t) => (q.kind === 'sliding' ? t > from : t >= from));
    this.quotaAdmitted = kept;
    if (kept.length >= q.calls) {
      this.quotaLog.refused.push(now);
      return true;
    }
    kept.push(now);
    this.quotaLog.admitted.push(now);
    return false;
  }

  /** The tenant's first organisation's id (what `YONBIP_CREATE_ORG` should be set to). */
  get orgId(): string {
    return this.store.tenant.orgs[0]?.id ?? '';
  }

  /** The tenant's first customer class's id (what `YONBIP_CUSTOMER_CLASS` should be set to). */
  get customerClassId(): string {
    return this.store.tenant.customerClasses[0]?.id ?? '';
  }

  /**
   * Makes the gateway answer a platform code, on every call (the default), on the next `times` calls,
   * or only on one API or path. Plans are used in the order they were made; the checks of the real
   * gateway come first (path, then token), so a code is only answered to a call with a valid token.
   * @example sb.answerCode('310037') // every call: API not authorised
   * @example sb.answerCode('310504', { on: 'save', times: 1 }) // the next save is applied, then times out
   */
  answerCode(code: YonbipPlatformCode, plan: YonbipCodePlan = {}): void {
    const applied = plan.applied ?? (code === '310504' || code === '310078' || code === '202');
    this.codePlans.push({ code, on: plan.on, left: plan.times ?? Number.POSITIVE_INFINITY, applied });
  }

  /** Forgets every plan of {@link answerCode}. */
  clearCodes(): void {
    this.codePlans.length = 0;
  }

  /** Sets a coding rule (编码规则) from now on, or removes it (`undefined`). */
  setCodingRule(rule: { prefix: string } | undefined): void {
    this.store.tenant.codingRule = rule && { ...rule };
  }

  /** Sets the business-detail fields this tenant requires on insert. */
  requireAppliedDetail(fields: string[]): void {
    this.store.tenant.requiredAppliedDetail = [...fields];
  }

  /** Removes a gateway path from this tenant (it answers 404 310404), or puts it back (`present` true). */
  setApiMissing(path: string, missing = true): void {
    if (missing) this.missingApis.add(path);
    else this.missingApis.delete(path);
  }

  /** Withdraws the app's authorisation for a gateway path (it answers 310037), or grants it again. */
  setApiUnauthorised(path: string, unauthorised = true): void {
    if (unauthorised) this.unauthorisedApis.add(path);
    else this.unauthorisedApis.delete(path);
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

  /** Answers of committed writes held back now (`dropAfterCommit(n, 'stall')`): their client waits for them. */
  get stalledAnswers(): number {
    return this.stalled.size;
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
    // The gateway checks the path before the token (skillify errors-and-limits §2): an unknown path
    // answers 404 310404 even to a fake token, a known one 310036.
    const apiPath = path.startsWith(`${this.gatewayPrefix}/`) ? path.slice(this.gatewayPrefix.length) : undefined;
    const name = apiPath === undefined || this.missingApis.has(apiPath) ? undefined : ROUTES[`${method} ${apiPath}`];
    if (apiPath === undefined || name === undefined) {
      this.countCode('310404');
      return send(res, 404, { code: '310404', message: `网关上没有注册此API[${apiPath ?? path}]，请确认后重新调用` });
    }
    const run: Record<YonbipSandboxApi, () => Envelope> = {
      save: () => this.store.save(body),
      list: () => this.store.list(body),
      detail: () => this.store.detail(params),
      orgTree: () => this.store.orgTree(body),
      classTree: () => this.store.classTree(body),
      stop: () => this.store.setStopped(body, true),
      unstop: () => this.store.setStopped(body, false),
      newlist: () => this.v2.newlist(body),
      newinsert: () => this.v2.newinsert(body),
      newupdate: () => this.v2.newupdate(body),
      batchSave: () => this.v2.batchSave(body),
      batchDetail: () => this.v2.batchDetail(body),
    };
    return this.gateway(req, res, params, name, apiPath, run[name]);
  }

  private countCode(code: string): void {
    this.counters.codes[code] = (this.counters.codes[code] ?? 0) + 1;
  }

  /** The next planned platform code for this call, if any (using up one of its `times`). */
  private plannedCode(name: YonbipSandboxApi, apiPath: string): { code: YonbipPlatformCode; applied: boolean } | undefined {
    const at = this.codePlans.findIndex((p) => p.left > 0 && (p.on === undefined || p.on === name || p.on === apiPath));
    if (at < 0) return undefined;
    const plan = this.codePlans[at]!;
    plan.left--;
    if (plan.left <= 0) this.codePlans.splice(at, 1);
    return { code: plan.code, applied: plan.applied };
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
    apiPath: string,
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
    if (this.unauthorisedApis.has(apiPath)) {
      this.countCode('310037');
      return send(res, 200, { code: '310037', message: CODE_MESSAGES['310037'] });
    }
    this.gatewayTimes.push(performance.now());
    if (this.overQuota(Date.now())) {
      this.counters.rateLimited++;
      return send(res, 200, { code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' });
    }
    if (this.rateLimit !== undefined) {
      const second = Math.floor(Date.now() / 1000);
      if (this.window.second !== second) this.window = { second, count: 0 };
      if (this.window.count >= this.rateLimit) {
        this.counters.rateLimited++;
        return send(res, 200, { code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' });
      }
      this.window.count++;
    }
    const planned = this.plannedCode(name, apiPath);
    if (planned) {
      this.countCode(planned.code);
      // 310504 and its kin after the backend committed: the write happened, the answer says it timed out.
      if (planned.applied) run();
      if (planned.code === '310404') return send(res, 404, { code: '310404', message: `网关上没有注册此API[${apiPath}]，请确认后重新调用` });
      return send(res, 200, { code: planned.code, message: CODE_MESSAGES[planned.code] });
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
    if (WRITE_APIS.has(name) && String(answer.code) === '200' && this.drops.length > 0) {
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
