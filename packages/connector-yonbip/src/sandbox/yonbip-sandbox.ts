import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson, stringifyJson } from '@qiao/core';

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

export interface Multilingual {
  zh_CN?: string;
  en_US?: string;
  zh_TW?: string;
}

/** A saved customer as the sandbox holds it: every id a string of digits. */
export interface SandboxMerchant {
  id: string;
  code: string;
  name: Multilingual;
  createOrg: string;
  merchantApplyRanges: Array<Record<string, unknown> & { id: string; orgId: string }>;
  merchantContacterInfos: Array<Record<string, unknown> & { id: string; fullName: Multilingual }>;
  [field: string]: unknown;
}

/** A customer to pre-create with {@link YonbipSandbox.seedMerchant}. */
export interface SeedMerchantInput {
  code: string;
  name: string | Multilingual;
  /** @default a fresh 19-digit id */
  id?: string;
  /** @default '1481709712348020742' */
  createOrg?: string;
  [field: string]: unknown;
}

export interface SandboxRequest {
  method: string;
  path: string;
  /** The query string exactly as sent (not decoded). */
  rawQuery: string;
}

export interface YonbipSandbox {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Where the data-center lookup answers (= url). */
  readonly dataCenterUrl: string;
  /** url + the gateway prefix, as the lookup returns it. */
  readonly gatewayUrl: string;
  /** url + the auth prefix, as the lookup returns it. */
  readonly tokenUrl: string;
  readonly credentials: { tenantId: string; appKey: string; appSecret: string };
  /** Live counters. */
  readonly counters: YonbipSandboxCounters;
  /** The last 500 requests, oldest first. */
  readonly requests: SandboxRequest[];
  stop(): Promise<void>;
  /** Saved customers, in creation order (copies). */
  merchants(): SandboxMerchant[];
  merchantByCode(code: string): SandboxMerchant | undefined;
  /** Code → number of Inserts ever applied through the API (seeds not counted). */
  insertsByCode(): Map<string, number>;
  setFaults(rate: number, kinds?: YonbipFaultKind[]): void;
  setLatency(ms: number): void;
  setRateLimit(perSecond: number | undefined): void;
  /** Pre-creates a customer (e.g. to provoke 客户名称重复). */
  seedMerchant(input: SeedMerchantInput): SandboxMerchant;
  /** Renames a customer, as a user would in BIP (e.g. to resolve 客户名称重复). Returns false if the code is unknown. */
  renameMerchant(code: string, name: string): boolean;
  /** Makes every token issued so far invalid (the next gateway call gets 310036). */
  expireTokens(): void;
  /**
   * The next `n` successful saves are applied, then their connection is destroyed (`'destroy'`) or
   * left without an answer until the client gives up (`'stall'`): the client cannot know the outcome.
   */
  dropAfterCommit(n: number, mode?: 'destroy' | 'stall'): void;
  /** The next `n` calls of `api` get fault `kind` (deterministic, on top of `faultRate`). */
  failNext(api: YonbipSandboxApi, kind: YonbipFaultKind, n?: number): void;
}

/** The gateway APIs of the sandbox. */
export type YonbipSandboxApi = 'save' | 'list' | 'detail';

type Row = Record<string, unknown>;
type Envelope = { code: string | number; message: string; data?: unknown };

const TOKEN_PATHS = ['/open-auth/selfAppAuth/base/v1/getAccessToken', '/open-auth/selfAppAuth/getAccessToken'];
const LOOKUP_PATH = '/open-auth/dataCenter/getGatewayAddress';
const DEFAULT_ORG = '1481709712348020742';
/** Fields written as bare JSON numbers in answers, as BIP does with its 19-digit ids. */
const WIRE_ID_KEYS = new Set([
  'id',
  'createOrg',
  'belongOrg',
  'internalOrgId',
  'customerClass',
  'customerIndustry',
  'channCustomerClass',
  'invoicingCustomers',
  'parentCustomer',
  'suppliers',
  'orgId',
  'merchantId',
]);
const HEADER_ID_KEYS = [...WIRE_ID_KEYS].filter((k) => k !== 'id' && k !== 'orgId' && k !== 'merchantId');
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

class Refusal extends Error {}

/**
 * Starts a local simulator of the YonBIP open platform on 127.0.0.1: the data-center lookup, the
 * self-built-app token service (real HMAC-SHA256 signature check) and the business gateway with
 * merchant save/list/detail, following shared/api/yonbip.md. 19-digit ids are written as bare JSON
 * numbers, and compared as exact strings.
 */
export async function startYonbipSandbox(options: YonbipSandboxOptions = {}): Promise<YonbipSandbox> {
  const tenantId = options.tenantId ?? 'qiao-demo-tenant';
  const appKey = options.appKey ?? 'qiao-demo-app';
  const appSecret = options.appSecret ?? 'qiao-demo-secret';
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 7200;
  const timestampWindowMs = options.timestampWindowMs ?? 300_000;
  const gatewayPrefix = options.prefixes?.gateway ?? '/iuap-api-gateway';
  const authPrefix = options.prefixes?.auth ?? '/iuap-api-auth';
  const random = options.random ?? Math.random;
  let latencyMs = options.latencyMs ?? 0;
  let faultRate = options.faultRate ?? 0;
  let faultKinds: YonbipFaultKind[] = options.faultKinds ?? ['500', '310039'];
  let rateLimit = options.rateLimitPerSecond;
  const tokenTtlCalls = options.tokenTtlCalls;

  const counters: YonbipSandboxCounters = {
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
  const requests: SandboxRequest[] = [];
  const byId = new Map<string, SandboxMerchant>();
  const idByCode = new Map<string, string>();
  // Ids by name.zh_CN, so the name check and the lookup by code stay O(1) with 100k customers.
  const idsByName = new Map<string, Set<string>>();
  const indexName = (id: string, name: string | undefined, previous?: string): void => {
    if (previous !== undefined && previous !== name) idsByName.get(previous)?.delete(id);
    if (name === undefined) return;
    let ids = idsByName.get(name);
    if (!ids) idsByName.set(name, (ids = new Set()));
    ids.add(id);
  };
  const inserts = new Map<string, number>();
  const tokens = new Map<string, { expiresAt: number; calls: number }>();
  const drops: Array<'destroy' | 'stall'> = [];
  const planned: Record<YonbipSandboxApi, YonbipFaultKind[]> = { save: [], list: [], detail: [] };
  const stalled = new Set<ServerResponse>();
  let window = { second: 0, count: 0 };

  // Odd ids beyond 2^53: no double can hold them, so JSON.parse always changes them.
  let lastId = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(random() * 400_000)) * 2n + 1n;
  const newId = (): string => {
    lastId += 2n * BigInt(1 + Math.floor(random() * 5000));
    return lastId.toString();
  };
  const now = () => new Date().toISOString().replace('T', ' ').slice(0, 19);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { code: '500', message: `sandbox error: ${(error as Error).message}` });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.total++;
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    const method = req.method ?? 'GET';
    requests.push({ method, path, rawQuery });
    if (requests.length > 500) requests.shift();
    const body = await readBody(req);
    if (latencyMs > 0) await sleep(latencyMs);
    // Java servlet decoding: `+` is a space, `%2B` a plus.
    const params = new URLSearchParams(rawQuery);

    if (path === LOOKUP_PATH && method === 'GET') return send(res, 200, lookup(params));
    if (TOKEN_PATHS.some((p) => path === authPrefix + p) && method === 'GET') return send(res, 200, issueToken(params));
    if (path.startsWith(`${gatewayPrefix}/`)) {
      const api = `${method} ${path.slice(gatewayPrefix.length)}`;
      if (api === 'POST /yonbip/digitalModel/merchant/save') return gateway(req, res, params, 'save', () => save(body));
      if (api === 'POST /yonbip/digitalModel/merchant/list') return gateway(req, res, params, 'list', () => list(body));
      if (api === 'GET /yonbip/digitalModel/merchant/detail') return gateway(req, res, params, 'detail', () => detail(params));
    }
    send(res, 404, { code: '310404', message: 'API不存在' });
  }

  function lookup(params: URLSearchParams): Envelope {
    counters.lookup++;
    if (params.get('tenantId') !== tenantId) return { code: '500', message: '根据租户id获取网关地址出现异常' };
    return { code: '00000', message: '成功！', data: { gatewayUrl: sandbox.gatewayUrl, tokenUrl: sandbox.tokenUrl } };
  }

  function issueToken(params: URLSearchParams): Envelope {
    counters.token++;
    if (params.get('appKey') !== appKey) return { code: '10018', message: '应用不存在或appKey已停用' };
    const timestamp = params.get('timestamp') ?? '';
    if (!/^\d{13}$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > timestampWindowMs) {
      return { code: '10020', message: '时间戳无效或已超出有效期' };
    }
    const signed = [...params.keys()]
      .filter((k) => k !== 'signature')
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((k) => `${k}${params.get(k)}`)
      .join('');
    const expected = createHmac('sha256', appSecret).update(signed, 'utf8').digest('base64');
    if (params.get('signature') !== expected) return { code: '10019', message: '签名校验失败' };
    const b = randomBytes(36).toString('base64');
    // Real tokens carry `+ / =`: a client that does not URL-encode them is refused.
    const token = `yht${b.slice(0, 16)}+${b.slice(16, 32)}/${b.slice(32)}==`;
    tokens.set(token, { expiresAt: Date.now() + tokenTtlSeconds * 1000, calls: 0 });
    return { code: '00000', message: '成功！', data: { access_token: token, expire: tokenTtlSeconds } };
  }

  async function gateway(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    name: YonbipSandboxApi,
    run: () => Envelope,
  ): Promise<void> {
    counters[name]++;
    // A Bearer header is not accepted: only the access_token parameter counts.
    const token = params.get('access_token');
    if (!token) return send(res, 200, { code: '310001', message: 'access_token不能为空' });
    const t = tokens.get(token);
    if (!t || Date.now() >= t.expiresAt || (tokenTtlCalls !== undefined && t.calls >= tokenTtlCalls)) {
      counters.tokenExpired++;
      return send(res, 200, { code: '310036', message: '非法token' });
    }
    t.calls++;
    if (rateLimit !== undefined) {
      const second = Math.floor(Date.now() / 1000);
      if (window.second !== second) window = { second, count: 0 };
      if (window.count >= rateLimit) {
        counters.rateLimited++;
        return send(res, 200, { code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' });
      }
      window.count++;
    }
    const fault =
      planned[name].shift() ??
      (faultRate > 0 && faultKinds.length > 0 && random() < faultRate ? faultKinds[Math.floor(random() * faultKinds.length)] : undefined);
    if (fault) counters.faults++;
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
    if (name === 'save' && String(answer.code) === '200' && drops.length > 0) {
      const mode = drops.shift();
      if (mode === 'destroy') {
        req.socket.destroy();
        return;
      }
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      return;
    }
    send(res, 200, answer);
  }

  function save(body: string): Envelope {
    let data: Row;
    try {
      const parsed = parseBody(body);
      if (!isRow(parsed) || !isRow(parsed.data)) throw new Refusal('请求参数data不能为空');
      data = parsed.data;
      if (data._status === 'Insert') return ok(insert(data));
      if (data._status === 'Update') return ok(update(data));
      throw new Refusal(`_status必须为Insert或Update，实际为[${String(data._status ?? '')}]`);
    } catch (error) {
      if (error instanceof Refusal) return { code: '999', message: error.message };
      throw error;
    }
  }

  function insert(data: Row): SandboxMerchant {
    if (data.id !== undefined && data.id !== null && data.id !== '') throw new Refusal('新增客户时不能指定id');
    const code = text(data.code);
    if (!code) throw new Refusal('客户编码不能为空');
    if (idByCode.has(code)) throw new Refusal(`客户编码[${code}]已存在`);
    const name = multilingual(data.name, '客户名称');
    nameFree(name, undefined);
    const createOrg = idOf(data.createOrg, 'createOrg');
    if (!createOrg) throw new Refusal('管理组织不能为空');
    const header = headerOf(data);
    const ranges: SandboxMerchant['merchantApplyRanges'] = [];
    if (data.merchantApplyRanges === undefined) {
      ranges.push({ id: newId(), orgId: createOrg, rangeType: 1, isCreator: true, isApplied: true });
    } else {
      for (const row of rowsOf(data.merchantApplyRanges, '适用组织')) {
        if (row._status !== 'Insert') throw new Refusal('新增客户时适用组织行的_status必须为Insert');
        const orgId = idOf(row.orgId, 'orgId');
        if (!orgId) throw new Refusal('适用组织不能为空');
        if (ranges.some((r) => r.orgId === orgId)) throw new Refusal(`适用组织[${orgId}]重复`);
        ranges.push({ ...rangeFields(row), id: newId(), orgId });
      }
    }
    const contacts: SandboxMerchant['merchantContacterInfos'] = [];
    for (const row of data.merchantContacterInfos === undefined ? [] : rowsOf(data.merchantContacterInfos, '联系人')) {
      if (row._status !== 'Insert') throw new Refusal('新增客户时联系人行的_status必须为Insert');
      contacts.push({ ...contactFields(row), id: newId(), fullName: multilingual(row.fullName, '联系人姓名') });
    }
    const m: SandboxMerchant = {
      ...header,
      id: newId(),
      code,
      name,
      createOrg,
      merchantApplyRanges: ranges,
      merchantContacterInfos: contacts,
      createTime: now(),
      modifyTime: now(),
      pubts: now(),
    };
    byId.set(m.id, m);
    idByCode.set(code, m.id);
    indexName(m.id, m.name.zh_CN);
    inserts.set(code, (inserts.get(code) ?? 0) + 1);
    counters.inserts++;
    return m;
  }

  function update(data: Row): SandboxMerchant {
    const id = idOf(data.id, 'id');
    if (!id) throw new Refusal('更新客户时id不能为空');
    // Exact on all 19 digits: a client that rounded the id through a double finds nothing.
    const old = byId.get(id);
    if (!old) throw new Refusal(`客户档案不存在或已删除，id=${id}`);
    const m: SandboxMerchant = structuredClone(old);
    Object.assign(m, headerOf(data));
    if (data.code !== undefined) {
      const code = text(data.code);
      if (!code) throw new Refusal('客户编码不能为空');
      if (code !== old.code && idByCode.has(code)) throw new Refusal(`客户编码[${code}]已存在`);
      m.code = code;
    }
    if (data.name !== undefined) {
      m.name = multilingual(data.name, '客户名称');
      nameFree(m.name, id);
    }
    if (data.createOrg !== undefined && idOf(data.createOrg, 'createOrg') !== old.createOrg) {
      throw new Refusal('管理组织不允许修改');
    }
    m.createOrg = old.createOrg;
    for (const row of data.merchantApplyRanges === undefined ? [] : rowsOf(data.merchantApplyRanges, '适用组织')) {
      if (row._status === 'Insert') {
        const orgId = idOf(row.orgId, 'orgId');
        if (!orgId) throw new Refusal('适用组织不能为空');
        if (m.merchantApplyRanges.some((r) => r.orgId === orgId)) throw new Refusal(`适用组织[${orgId}]已存在`);
        m.merchantApplyRanges.push({ ...rangeFields(row), id: newId(), orgId });
      } else {
        const at = childIndex(m.merchantApplyRanges, row, '适用组织');
        if (row._status === 'Delete') m.merchantApplyRanges.splice(at, 1);
        else Object.assign(m.merchantApplyRanges[at] as Row, rangeFields(row));
      }
    }
    for (const row of data.merchantContacterInfos === undefined ? [] : rowsOf(data.merchantContacterInfos, '联系人')) {
      if (row._status === 'Insert') {
        m.merchantContacterInfos.push({ ...contactFields(row), id: newId(), fullName: multilingual(row.fullName, '联系人姓名') });
      } else {
        const at = childIndex(m.merchantContacterInfos, row, '联系人');
        if (row._status === 'Delete') m.merchantContacterInfos.splice(at, 1);
        else {
          const c = m.merchantContacterInfos[at] as Row;
          Object.assign(c, contactFields(row));
          if (row.fullName !== undefined) c.fullName = multilingual(row.fullName, '联系人姓名');
        }
      }
    }
    m.modifyTime = now();
    m.pubts = now();
    if (m.code !== old.code) idByCode.delete(old.code);
    idByCode.set(m.code, id);
    byId.set(id, m);
    indexName(id, m.name.zh_CN, old.name.zh_CN);
    counters.updates++;
    return m;
  }

  function list(body: string): Envelope {
    let q: Row;
    try {
      const parsed = body.trim() === '' ? {} : parseBody(body);
      if (!isRow(parsed)) throw new Refusal('请求参数格式错误');
      q = parsed;
    } catch (error) {
      if (error instanceof Refusal) return { code: '999', message: error.message };
      throw error;
    }
    const pageIndex = Math.max(1, Math.floor(Number(q.pageIndex ?? 1)) || 1);
    const pageSize = Math.min(500, Math.max(1, Math.floor(Number(q.pageSize ?? 10)) || 10));
    let rows: SandboxMerchant[];
    if (q.code !== undefined && q.code !== null && q.code !== '') {
      // Codes are unique: the index holds the one customer with this code, if any.
      const id = idByCode.get(String(q.code));
      const m = id === undefined ? undefined : byId.get(id);
      rows = m ? [m] : [];
    } else rows = [...byId.values()];
    const name = typeof q.name === 'string' ? q.name : undefined;
    if (name) rows = rows.filter((m) => (m.name.zh_CN ?? '').includes(name));
    const page = rows.slice((pageIndex - 1) * pageSize, pageIndex * pageSize).map(summary);
    return {
      code: '200',
      message: '操作成功',
      data: { pageIndex, pageSize, recordCount: rows.length, pageCount: Math.ceil(rows.length / pageSize), recordList: page },
    };
  }

  function detail(params: URLSearchParams): Envelope {
    const id = params.get('id') ?? '';
    const m = byId.get(id);
    // This answer carries a numeric code, as some BIP endpoints do: clients compare String(code).
    if (!m) return { code: 999, message: `客户档案不存在或已删除，id=${id}` };
    return { code: 200, message: '操作成功', data: m };
  }

  function nameFree(name: Multilingual, self: string | undefined): void {
    for (const other of idsByName.get(name.zh_CN ?? '') ?? []) {
      if (other !== self) throw new Refusal('客户名称重复');
    }
  }

  const server$ = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve(server.address() as AddressInfo));
  });
  const url = `http://127.0.0.1:${server$.port}`;

  const sandbox: YonbipSandbox = {
    url,
    port: server$.port,
    dataCenterUrl: url,
    gatewayUrl: url + gatewayPrefix,
    tokenUrl: url + authPrefix,
    credentials: { tenantId, appKey, appSecret },
    counters,
    requests,
    async stop() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    merchants: () => [...byId.values()].map((m) => structuredClone(m)),
    merchantByCode(code) {
      const id = idByCode.get(code);
      const m = id === undefined ? undefined : byId.get(id);
      return m && structuredClone(m);
    },
    insertsByCode: () => new Map(inserts),
    setFaults(rate, kinds) {
      faultRate = rate;
      if (kinds) faultKinds = [...kinds];
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setRateLimit(perSecond) {
      rateLimit = perSecond;
    },
    seedMerchant(input) {
      const { code, name, id, createOrg, ...rest } = input;
      if (idByCode.has(code)) throw new Error(`sandbox: code ${code} already exists`);
      const m: SandboxMerchant = {
        ...rest,
        id: id ?? newId(),
        code,
        name: typeof name === 'string' ? { zh_CN: name } : { ...name },
        createOrg: createOrg ?? DEFAULT_ORG,
        merchantApplyRanges: [],
        merchantContacterInfos: [],
        createTime: now(),
        modifyTime: now(),
        pubts: now(),
      };
      m.merchantApplyRanges.push({ id: newId(), orgId: m.createOrg, rangeType: 1, isCreator: true, isApplied: true });
      byId.set(m.id, m);
      idByCode.set(code, m.id);
      indexName(m.id, m.name.zh_CN);
      return structuredClone(m);
    },
    renameMerchant(code, name) {
      const id = idByCode.get(code);
      const m = id === undefined ? undefined : byId.get(id);
      if (!m) return false;
      const previous = m.name.zh_CN;
      m.name = { ...m.name, zh_CN: name };
      indexName(m.id, name, previous);
      m.modifyTime = now();
      return true;
    },
    expireTokens() {
      tokens.clear();
    },
    dropAfterCommit(n, mode = 'destroy') {
      for (let i = 0; i < n; i++) drops.push(mode);
    },
    failNext(api, kind, n = 1) {
      for (let i = 0; i < n; i++) planned[api].push(kind);
    },
  };
  return sandbox;
}

function ok(m: SandboxMerchant): Envelope {
  return { code: '200', message: '操作成功', data: m };
}

function summary(m: SandboxMerchant): Row {
  const { merchantApplyRanges: _r, merchantContacterInfos: _c, ...header } = m;
  return header;
}

function headerOf(data: Row): Row {
  const header: Row = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === '_status' || k === 'id' || k === 'code' || k === 'name' || k === 'createOrg') continue;
    if (k === 'merchantApplyRanges' || k === 'merchantContacterInfos') continue;
    if (HEADER_ID_KEYS.includes(k) && v !== null && v !== '') header[k] = idOf(v, k);
    else if (k === 'shortname' || k === 'address') header[k] = v === null ? v : multilingual(v, k);
    else header[k] = v;
  }
  return header;
}

function rangeFields(row: Row): Row {
  const out: Row = {};
  for (const k of ['rangeType', 'isCreator', 'isApplied']) if (row[k] !== undefined) out[k] = row[k];
  return out;
}

function contactFields(row: Row): Row {
  const { id: _id, _status: _s, fullName: _f, ...rest } = row;
  return rest;
}

function childIndex(rows: Array<{ id: string }>, row: Row, label: string): number {
  const id = idOf(row.id, 'id');
  if (!id) throw new Refusal(`${label}行的_status为${String(row._status ?? '空')}时id不能为空`);
  if (row._status !== 'Update' && row._status !== 'Delete') throw new Refusal(`${label}行的_status必须为Insert、Update或Delete`);
  const at = rows.findIndex((r) => r.id === id);
  if (at < 0) throw new Refusal(`${label}行不存在，id=${id}`);
  return at;
}

function rowsOf(value: unknown, label: string): Row[] {
  if (!Array.isArray(value) || !value.every(isRow)) throw new Refusal(`${label}必须为数组`);
  return value;
}

function multilingual(value: unknown, label: string): Multilingual {
  if (typeof value === 'string') throw new Refusal(`${label}应为多语对象，如 {"zh_CN": "…"}`);
  if (!isRow(value) || typeof value.zh_CN !== 'string' || value.zh_CN.trim() === '') throw new Refusal(`${label}不能为空`);
  const out: Multilingual = {};
  for (const locale of ['zh_CN', 'en_US', 'zh_TW'] as const) {
    if (typeof value[locale] === 'string') out[locale] = value[locale];
  }
  return out;
}

/** An id as sent: a digit string (or a bare number, kept exact by the lossless parser). */
function idOf(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const s = typeof value === 'number' ? String(value) : value;
  if (typeof s !== 'string' || !/^\d{1,19}$/.test(s)) throw new Refusal(`字段[${field}]的值[${String(value)}]不是有效的id`);
  return s;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function isRow(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseBody(body: string): unknown {
  try {
    return parseJson(body);
  } catch {
    throw new Refusal('请求体不是合法的JSON');
  }
}

/** Ids become bigint so they are written as bare JSON numbers with every digit. */
function toWire(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => toWire(v));
  if (isRow(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v, k)]));
  if (key !== undefined && WIRE_ID_KEYS.has(key) && typeof value === 'string' && /^\d{1,19}$/.test(value)) return BigInt(value);
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
