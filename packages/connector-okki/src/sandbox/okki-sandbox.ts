import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '@qiao/core';
import { formatChinaTime, parseChinaTime } from '../transport/china-time.js';
import {
  CompanyGenerator,
  OKKI_GROUPS,
  OKKI_TRAIL_STATUSES,
  OKKI_USERS,
  type StoredCompany,
  type StoredContact,
} from './okki-data.js';

/** An injected fault: an HTTP status, a gateway's HTML page, or a JSON body cut short. */
export type OkkiFaultKind = '500' | '502' | '503' | '429' | 'html' | 'truncated';

/**
 * A change the simulator makes by itself while a client reads, as the other users of an OKKI account do:
 * - `edit`: a live customer's address changes and its `update_time` becomes now. It moves to the front of
 *   the list, and out of any window that ended before now.
 * - `add`: a new customer, created and updated now (at the front of the list).
 * - `delete`: a live customer is deleted (`removed=1` lists it from then on; its detail answers 404). The
 *   rows after it move back one place, some of them past a page boundary.
 * - `shift`: a live customer moves to another place in the list without changing at all. OKKI documents
 *   no order; a client that relies on one it observed is wrong the day it changes.
 * - `backdate`: an edit whose `update_time` is set back to a moment of the last 90 days, as an import or
 *   a restored backup would: the customer moves into (or out of) earlier windows. No incremental reader
 *   can promise to see such a change, so the default kinds leave it out.
 */
export type OkkiMutationKind = 'edit' | 'add' | 'delete' | 'shift' | 'backdate';

/** Changes made while clients read ({@link OkkiSandboxOptions.mutations}, {@link OkkiSandbox.setMutations}). */
export interface OkkiMutationOptions {
  /**
   * Chance (0..1), for each authorised `company/list` or `company/info` request, that one change is made
   * just before it is answered.
   * @default 0
   */
  rate?: number;
  /** @default ['edit', 'add', 'delete', 'shift'] */
  kinds?: OkkiMutationKind[];
  /**
   * Which requests may be preceded by a change: `list` makes changes only between pages (the moves
   * that make page-number paging skip rows), `info` only between detail calls.
   * @default 'any'
   */
  on?: 'list' | 'info' | 'any';
  /** No more changes after this many (counted from this setting). @default unlimited */
  max?: number;
  /**
   * What an `edit` (or `backdate`) changes: `address` appends a mark to the address; `fields` changes
   * one to three of the fields a sync maps (name, short name, homepage, address, phone, the main
   * contact's name and e-mail), emptying some of them (never the name), as users of OKKI do.
   * @default 'address'
   */
  edit?: 'address' | 'fields';
}

/** A change the simulator made by itself (see {@link OkkiMutationKind}). */
export interface OkkiMutation {
  kind: OkkiMutationKind;
  company_id: number;
  /** When, on the simulator's clock (epoch ms). */
  at: number;
  /** The fields an `edit` or `backdate` changed (API names; `customers` for the main contact). */
  fields?: string[];
  /** Of {@link fields}, those the change emptied (`customers`: the main contact's e-mail). */
  emptied?: string[];
}

export interface OkkiSandboxOptions {
  /** Port to listen on. @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default "qiao-demo-client" */
  clientId?: string;
  /** @default "qiao-demo-secret" */
  clientSecret?: string;
  /** Live customers generated at start. @default 0 */
  customers?: number;
  /** Deleted customers generated at start (listed by `removed=1` only). @default 0 */
  removedCustomers?: number;
  /** Seed of the data generator and of fault injection; same seed, same data. @default 1 */
  seed?: number;
  /** Delay before every answer. @default 0 */
  latencyMs?: number;
  /** Share (0..1) of non-token requests answered with an injected fault. @default 0 */
  faultRate?: number;
  /**
   * Faults to draw from. `429` carries `Retry-After: 0` so tests stay fast (production OKKI documents
   * no rate limit at all). @default ['500', '503', '429']
   */
  faultKinds?: OkkiFaultKind[];
  /** A token is refused (HTTP 401 `access_denied`) after this many authorised calls. @default unlimited */
  tokenTtlCalls?: number;
  /** Token lifetime. @default 28799 */
  tokenTtlSeconds?: number;
  /** Answer the token call without `expires_in`, as the client-credentials docs describe. @default false */
  omitExpiresIn?: boolean;
  /** Refuse JSON token bodies with HTTP 400 (only the form body works). @default false */
  rejectJsonTokenBody?: boolean;
  /**
   * The simulator's clock, epoch ms: `now` in every envelope, `update_time` of changes, token expiry.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Added to {@link now}: puts OKKI's clock apart from the client's (a server running behind or ahead).
   * @default 0
   * @example -3_600_000 // OKKI's clock an hour behind the machine running qiao
   */
  clockOffsetMs?: number;
  /** Changes the simulator makes by itself while clients read. @default none */
  mutations?: OkkiMutationOptions;
  /** Called when a request arrives, before it is answered (e.g. to delete a company mid-sync). */
  onRequest?: (request: OkkiSandboxRequest) => void;
  /** Extra delay before answering this request, in milliseconds (e.g. one slow detail). */
  extraLatencyMs?: (request: OkkiSandboxRequest) => number;
}

/** A request as the simulator saw it. */
export interface OkkiSandboxRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** HTTP status answered (in `requestLog`; absent in `onRequest`). */
  status?: number;
}

export interface OkkiSandboxCounters {
  /** Token requests (any outcome). */
  token: number;
  /** `company/list` requests answered (authorised, no fault injected). */
  list: number;
  /** `company/info` requests answered (authorised, no fault injected; 404 answers included). */
  info: number;
  /** Changes made by the simulator itself ({@link OkkiSandboxOptions.mutations}). */
  mutations: number;
  /** Faults injected. */
  faults: number;
  /** HTTP 401 answers to API calls (missing, unknown or expired token). */
  unauthorized: number;
  /** Every request. */
  total: number;
}

interface IssuedSandboxToken {
  expiresAt: number;
  calls: number;
  scope: string[];
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';
const NEVER = '1970-01-01 00:00:00';
const REQUEST_LOG_SIZE = 1000;

const ACCESS_DENIED = {
  error: 'access_denied',
  error_description: 'The resource owner or authorization server denied the request.',
  hint: 'Access token could not be verified',
  message: 'The resource owner or authorization server denied the request.',
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': JSON_TYPE, ...headers },
  body: JSON.stringify(body),
});

const fmt = (ms: number): string => (ms === 0 ? NEVER : formatChinaTime(ms));
const DAY_MS = 86_400_000;
const DEFAULT_MUTATIONS: OkkiMutationKind[] = ['edit', 'add', 'delete', 'shift'];

/**
 * A local simulator of the 小满 OKKI open API (`/v1/oauth2/access_token`, `/v1/company/list`,
 * `/v1/company/info`) as documented in shared/api/okki.md: client-credentials tokens, page-number
 * paging, HTTP-200 envelopes with `code` and `now`, ids as numbers here and strings there, 1970 "never"
 * dates, token expiry, injected faults and latency, a clock of its own, and rows that move while a
 * client pages. Start it with {@link startOkkiSandbox}.
 *
 * Lists come most recently updated first (`update_time` descending, then `company_id` descending): OKKI
 * documents no order; this is our reading of the most plausible one (the platform calls the call 客户列表
 * 查询(更新列表), "the update list"), and the one under which page-number paging fails worst, since an edit
 * moves a customer to the front. `shift` changes ({@link OkkiMutationKind}) break even that order.
 */
export class OkkiSandbox {
  /** Counters since start (or the last {@link resetCounters}). */
  readonly counters: OkkiSandboxCounters = { token: 0, list: 0, info: 0, mutations: 0, faults: 0, unauthorized: 0, total: 0 };
  /** The last 1000 requests, oldest first. */
  readonly requestLog: OkkiSandboxRequest[] = [];
  /** The changes the simulator made by itself, oldest first (all of them: tests compare against it). */
  readonly mutationLog: OkkiMutation[] = [];
  /** Called when a request arrives, before it is answered. */
  onRequest: ((request: OkkiSandboxRequest) => void) | undefined;
  extraLatencyMs: ((request: OkkiSandboxRequest) => number) | undefined;

  private readonly server: Server;
  private readonly generator: CompanyGenerator;
  private readonly baseNow: () => number;
  private clockOffsetMs: number;
  private readonly faultRng: () => number;
  private readonly mutationRng: () => number;
  private mutations: Required<Omit<OkkiMutationOptions, 'max'>> & { left: number };
  private readonly tokens = new Map<string, IssuedSandboxToken>();
  /** Live companies in the order lists are served in (see the class comment). */
  private live: StoredCompany[] = [];
  /** Deleted companies, most recently deleted first. */
  private removed: StoredCompany[] = [];
  private readonly byId = new Map<number, StoredCompany>();
  private readonly removedById = new Map<number, StoredCompany>();
  private version = 0;
  private readonly filterCache = new Map<string, { version: number; rows: StoredCompany[] }>();
  private faultRate: number;
  private faultKinds: OkkiFaultKind[];
  private latencyMs: number;
  private listenPort = 0;

  constructor(private readonly options: OkkiSandboxOptions = {}) {
    this.baseNow = options.now ?? Date.now;
    this.clockOffsetMs = options.clockOffsetMs ?? 0;
    const seed = options.seed ?? 1;
    this.generator = new CompanyGenerator(seed, this.now);
    this.faultRng = seededRandom((seed ^ 0x5eed5eed) >>> 0);
    this.mutationRng = seededRandom((seed ^ 0x6d757461) >>> 0);
    this.mutations = { rate: 0, kinds: DEFAULT_MUTATIONS, on: 'any', edit: 'address', left: Infinity };
    if (options.mutations) this.setMutations(options.mutations);
    this.faultRate = options.faultRate ?? 0;
    this.faultKinds = options.faultKinds ?? ['500', '503', '429'];
    this.latencyMs = options.latencyMs ?? 0;
    this.onRequest = options.onRequest;
    this.extraLatencyMs = options.extraLatencyMs;
    const live = options.customers ?? 0;
    const removed = options.removedCustomers ?? 0;
    // Interleave deleted companies with live ones so their ids look like a real history.
    const total = live + removed;
    for (let i = 0; i < total; i++) {
      const c = this.generator.next();
      if (removed > 0 && Math.floor(((i + 1) * removed) / total) > Math.floor((i * removed) / total)) {
        c.removed_time = c.update_time;
        this.removed.push(c);
        this.removedById.set(c.company_id, c);
      } else {
        this.live.push(c);
        this.byId.set(c.company_id, c);
      }
    }
    this.live.sort(newestFirst);
    this.removed.sort(newestFirst);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, json(500, { code: 500, message: String((error as Error)?.message ?? error) }));
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  /** Starts listening. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  get port(): number {
    return this.listenPort;
  }

  /** `http://127.0.0.1:<port>`: the connection's `baseUrl`. */
  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.listenPort}`;
  }

  get credentials(): { clientId: string; clientSecret: string } {
    return { clientId: this.options.clientId ?? 'qiao-demo-client', clientSecret: this.options.clientSecret ?? 'qiao-demo-secret' };
  }

  /** The simulator's clock (epoch ms): what `now` of the next answer will say, to the second. */
  readonly now = (): number => this.baseNow() + this.clockOffsetMs;

  /** Live companies as `company/info` returns them, in list order. */
  companies(): Record<string, unknown>[] {
    return this.live.map((c) => this.info(c));
  }

  /** Deleted companies as `company/info` would have returned them. */
  removedCompanies(): Record<string, unknown>[] {
    return this.removed.map((c) => this.info(c));
  }

  /** One live company as `company/info` returns it, or `undefined`. */
  company(id: string | number): Record<string, unknown> | undefined {
    const c = this.byId.get(Number(id));
    return c && this.info(c);
  }

  /**
   * Changes a live company (API field names: `name`, `short_name`, `serial_id`, `homepage`, `tel`,
   * `address`, `remark`, `group_id`, `user_id`, `customers`, times as `YYYY-MM-DD HH:MM:SS` China
   * time, …) and bumps `update_time` and `edit_time` to now unless `update_time` is given.
   * @returns the company as `company/info` returns it
   */
  updateCompany(id: string | number, changes: Record<string, unknown>): Record<string, unknown> {
    const c = this.byId.get(Number(id));
    if (!c) throw new Error(`OKKI sandbox: no live company ${id}`);
    this.apply(c, changes);
    if (!('update_time' in changes)) {
      c.update_time = this.now();
      c.edit_time = c.update_time;
    }
    this.reorder(c);
    return this.info(c);
  }

  /**
   * Adds a company (generated, then `partial` applied) with create and update time now.
   * @returns the company as `company/info` returns it
   */
  addCompany(partial: Record<string, unknown> = {}): Record<string, unknown> {
    const c = this.generator.next();
    const now = this.now();
    c.create_time = now;
    c.archive_time = now;
    c.update_time = now;
    c.edit_time = now;
    c.order_time = 0;
    if (typeof partial.name === 'string') this.generator.reserveName(partial.name);
    this.apply(c, partial);
    this.live.push(c);
    this.byId.set(c.company_id, c);
    this.reorder(c);
    return this.info(c);
  }

  /**
   * Deletes a live company: it moves to the deleted set (`removed=1` lists it, with `update_time`
   * now) and `company/info` answers 404 for it.
   * @returns whether the company was live
   */
  deleteCompany(id: string | number): boolean {
    const c = this.byId.get(Number(id));
    if (!c) return false;
    this.byId.delete(c.company_id);
    this.live.splice(this.live.indexOf(c), 1);
    c.update_time = this.now();
    c.removed_time = c.update_time;
    this.removedById.set(c.company_id, c);
    this.removed.splice(placeOf(this.removed, c), 0, c);
    this.version++;
    return true;
  }

  /**
   * Restores a deleted company (OKKI's 回收站 → 恢复): it is live again with `update_time` now, so the
   * next incremental read lists it, and `removed=1` no longer lists it.
   * @returns whether the company was deleted
   */
  restoreCompany(id: string | number): boolean {
    const c = this.removedById.get(Number(id));
    if (!c) return false;
    this.removedById.delete(c.company_id);
    this.removed.splice(this.removed.indexOf(c), 1);
    delete c.removed_time;
    c.update_time = this.now();
    c.edit_time = c.update_time;
    this.byId.set(c.company_id, c);
    this.reorder(c);
    return true;
  }

  /**
   * Moves a live company to `index` of the list order without changing it (an order that moves under
   * the client; see {@link OkkiMutationKind} `shift`).
   */
  moveCompany(id: string | number, index: number): void {
    const c = this.byId.get(Number(id));
    if (!c) throw new Error(`OKKI sandbox: no live company ${id}`);
    this.live.splice(this.live.indexOf(c), 1);
    this.live.splice(Math.max(0, Math.min(index, this.live.length)), 0, c);
    this.version++;
  }

  /**
   * Changes from now on what the simulator changes by itself while clients read; unset fields keep
   * their defaults, not their previous values. `setMutations({ rate: 0 })` stops it.
   */
  setMutations(mutations: OkkiMutationOptions): void {
    const rate = mutations.rate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new Error(`OKKI sandbox: mutations.rate must be within 0..1, got ${rate}`);
    const kinds = mutations.kinds ?? DEFAULT_MUTATIONS;
    this.mutations = { rate, kinds, on: mutations.on ?? 'any', edit: mutations.edit ?? 'address', left: mutations.max ?? Infinity };
  }

  /** Moves the simulator's clock: `offsetMs` is added to its base clock ({@link OkkiSandboxOptions.now}). */
  setClockOffset(offsetMs: number): void {
    this.clockOffsetMs = offsetMs;
  }

  /** Makes one change of `kind` now, as `mutations` would. @returns the change, or `undefined` when there was nothing to change */
  mutate(kind: OkkiMutationKind): OkkiMutation | undefined {
    const rng = this.mutationRng;
    const any = (): StoredCompany | undefined => this.live[Math.floor(rng() * this.live.length)];
    let c: StoredCompany | undefined;
    let fields: string[] | undefined;
    const emptied: string[] = [];
    switch (kind) {
      case 'add':
        c = this.byId.get(Number(this.addCompany().company_id));
        break;
      case 'edit':
      case 'backdate':
        c = any();
        if (c) {
          const n = this.mutationLog.length + 1;
          const changes: Record<string, unknown> =
            this.mutations.edit === 'fields' ? this.fieldEdit(c, n, emptied) : { address: `${c.address || '未知地址'}（变更${n}）` };
          fields = Object.keys(changes);
          if (kind === 'backdate') changes.update_time = this.now() - Math.floor(rng() * 90 * DAY_MS);
          this.updateCompany(c.company_id, changes);
        }
        break;
      case 'delete':
        c = any();
        if (c) this.deleteCompany(c.company_id);
        break;
      case 'shift':
        c = any();
        if (c) this.moveCompany(c.company_id, Math.floor(rng() * this.live.length));
        break;
    }
    if (!c) return undefined;
    const change: OkkiMutation = { kind, company_id: c.company_id, at: this.now() };
    if (fields) change.fields = fields;
    if (emptied.length) change.emptied = emptied;
    this.mutationLog.push(change);
    this.counters.mutations++;
    return change;
  }

  /**
   * The changes of an `edit` with `edit: 'fields'`: one to three of the mapped fields, each new value
   * unique (`n` is the change's number), about one in four emptied (the name never is; the emptied
   * ones are added to `emptied`).
   */
  private fieldEdit(c: StoredCompany, n: number, emptied: string[]): Record<string, unknown> {
    const rng = this.mutationRng;
    const all = ['name', 'short_name', 'homepage', 'address', 'tel', 'customers'] as const;
    const picked = new Set<(typeof all)[number]>();
    const wanted = 1 + Math.floor(rng() * 3);
    while (picked.size < wanted) picked.add(all[Math.floor(rng() * all.length)]!);
    const empty = (field: string): boolean => {
      const yes = rng() < 0.25;
      if (yes) emptied.push(field);
      return yes;
    };
    const changes: Record<string, unknown> = {};
    for (const field of picked) {
      switch (field) {
        case 'name':
          changes.name = `${c.name.replace(/（改\d+）$/, '')}（改${n}）`;
          break;
        case 'short_name':
          changes.short_name = empty(field) ? '' : `简称${n}`;
          break;
        case 'homepage':
          changes.homepage = empty(field) ? '' : `https://www.m${n}-${c.company_id}.example.cn`;
          break;
        case 'address':
          changes.address = empty(field) ? '' : `${(c.address || '未知地址').replace(/（变更\d+）$/, '')}（变更${n}）`;
          break;
        case 'tel':
          changes.tel = empty(field) ? ['', ''] : ['021', `6${String(1_000_000 + Math.floor(rng() * 8_999_999))}`];
          break;
        case 'customers': {
          // the main contact (else the first) gets another name or e-mail; a company without contacts gets one
          const contacts: Record<string, unknown>[] = this.generator
            .contacts(c)
            .map((k) => ({ ...k, tel_list: k.tel_list.map((t) => [...t]), contact: k.contact.map((x) => ({ ...x })) }));
          const main = contacts.find((k) => k.main_customer_flag === 1) ?? contacts[0];
          if (!main) {
            contacts.push({ name: `联系人${n}`, email: `contact${n}@example.cn`, main_customer_flag: 1 });
          } else if (rng() < 0.5) {
            main.name = `联系人${n}`;
          } else {
            main.email = empty(field) ? '' : `contact${n}@example.cn`;
          }
          changes.customers = contacts;
          break;
        }
      }
    }
    return changes;
  }

  /** Changes fault injection from now on. */
  setFaults(faults: { rate?: number; kinds?: OkkiFaultKind[] }): void {
    if (faults.rate !== undefined) this.faultRate = faults.rate;
    if (faults.kinds !== undefined) this.faultKinds = faults.kinds;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Makes every token issued so far invalid (the next API call answers 401 `access_denied`). */
  expireTokens(): void {
    this.tokens.clear();
  }

  resetCounters(): void {
    for (const k of Object.keys(this.counters) as (keyof OkkiSandboxCounters)[]) this.counters[k] = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.total++;
    const url = new URL(req.url ?? '/', 'http://okki.sandbox');
    const entry: OkkiSandboxRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams) };
    this.onRequest?.({ ...entry, query: { ...entry.query } });
    const body = req.method === 'POST' ? await readBody(req) : '';
    const delay = this.latencyMs + (this.extraLatencyMs?.(entry) ?? 0);
    if (delay > 0) await sleep(delay);
    const answer = this.route(entry, req.headers, body);
    entry.status = answer.status;
    this.requestLog.push(entry);
    if (this.requestLog.length > REQUEST_LOG_SIZE) this.requestLog.shift();
    send(res, answer);
  }

  private route(req: OkkiSandboxRequest, headers: IncomingHttpHeaders, body: string): Answer {
    const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
    if (route === 'POST /v1/oauth2/access_token') return this.token(headers, body);
    if (route === 'GET /v1/company/list' || route === 'GET /v1/company/info') {
      const fault = this.fault();
      if (fault) return fault;
      const token = this.authorise(headers.authorization);
      if (!token) {
        this.counters.unauthorized++;
        return json(401, ACCESS_DENIED);
      }
      if (!token.scope.includes('company')) return json(403, { code: 403, message: 'no permission company scopes', now: formatChinaTime(this.now()), data: [] });
      if (route === 'GET /v1/company/list') {
        this.maybeMutate('list');
        this.counters.list++;
        return this.list(req.query);
      }
      this.maybeMutate('info');
      this.counters.info++;
      return this.detail(req.query);
    }
    return json(404, { error: 'not_found', message: `Not Found: ${req.method} ${req.path}` });
  }

  private maybeMutate(call: 'list' | 'info'): void {
    const m = this.mutations;
    if (m.rate <= 0 || m.left <= 0 || m.kinds.length === 0 || (m.on !== 'any' && m.on !== call)) return;
    if (this.mutationRng() >= m.rate) return;
    const kind = m.kinds[Math.floor(this.mutationRng() * m.kinds.length)] as OkkiMutationKind;
    if (this.mutate(kind)) m.left--;
  }

  /** Puts a changed or added company where the list order wants it, and invalidates cached filters. */
  private reorder(c: StoredCompany): void {
    const at = this.live.indexOf(c);
    if (at >= 0) this.live.splice(at, 1);
    this.live.splice(placeOf(this.live, c), 0, c);
    this.version++;
  }

  private token(headers: IncomingHttpHeaders, body: string): Answer {
    this.counters.token++;
    const type = String(headers['content-type'] ?? '');
    let fields: Record<string, string> = {};
    if (type.includes('application/json')) {
      if (this.options.rejectJsonTokenBody) return invalidRequest('The request is missing a required parameter: grant_type');
      try {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        for (const [k, v] of Object.entries(parsed ?? {})) fields[k] = String(v);
      } catch {
        return invalidRequest('The request body is not valid JSON');
      }
    } else if (type.includes('application/x-www-form-urlencoded')) {
      fields = Object.fromEntries(new URLSearchParams(body));
    } else {
      return invalidRequest('The request is missing a required parameter: grant_type');
    }
    if (fields.grant_type !== 'client_credentials') {
      return json(400, {
        error: 'unsupported_grant_type',
        error_description: 'The authorization grant type is not supported by the authorization server.',
        message: 'The authorization grant type is not supported by the authorization server.',
      });
    }
    const { clientId, clientSecret } = this.credentials;
    if (fields.client_id !== clientId || fields.client_secret !== clientSecret) {
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed', message: 'Client authentication failed' });
    }
    const ttl = this.options.tokenTtlSeconds ?? 28799;
    const scope = (fields.scope ?? '').split(/[\s,]+/).filter(Boolean);
    const now = this.now();
    const token = jwtLike(clientId, scope, now, ttl);
    this.tokens.set(token, { expiresAt: now + ttl * 1000, calls: 0, scope });
    const answer: Record<string, unknown> = { token_type: 'Bearer' };
    if (!this.options.omitExpiresIn) answer.expires_in = ttl;
    answer.access_token = token;
    return json(200, answer);
  }

  private authorise(header: string | undefined): IssuedSandboxToken | undefined {
    const raw = (header ?? '').replace(/^Bearer\s+/i, '').trim();
    const token = raw ? this.tokens.get(raw) : undefined;
    if (!token) return undefined;
    const ttlCalls = this.options.tokenTtlCalls;
    if (this.now() >= token.expiresAt || (ttlCalls !== undefined && token.calls >= ttlCalls)) {
      this.tokens.delete(raw);
      return undefined;
    }
    token.calls++;
    return token;
  }

  private fault(): Answer | undefined {
    if (this.faultRate <= 0 || this.faultKinds.length === 0 || this.faultRng() >= this.faultRate) return undefined;
    this.counters.faults++;
    const kind = this.faultKinds[Math.floor(this.faultRng() * this.faultKinds.length)] as OkkiFaultKind;
    switch (kind) {
      case '500':
        return json(500, { code: 500, message: 'Internal Server Error', now: formatChinaTime(this.now()) });
      case '502':
        return html(502, nginxPage('502 Bad Gateway'));
      case '503':
        return html(503, nginxPage('503 Service Temporarily Unavailable'));
      case '429':
        return json(429, { code: 429, message: 'Too Many Requests', now: formatChinaTime(this.now()) }, { 'retry-after': '0' });
      case 'html':
        return html(200, '<!DOCTYPE html><html><head><meta charset="utf-8"><title>访问验证</title></head><body><p>请求过于频繁，请稍后再试</p></body></html>');
      case 'truncated': {
        const full = JSON.stringify({ code: 200, message: 'success', now: formatChinaTime(this.now()), data: { list: [{ company_id: 1, name: '被截断的响应' }], totalItem: 1, count: 1 } });
        return { status: 200, headers: { 'content-type': JSON_TYPE }, body: full.slice(0, Math.floor(full.length / 2)) };
      }
    }
  }

  private list(query: Record<string, string>): Answer {
    const now = formatChinaTime(this.now());
    const num = (name: string, fallback: number): number => {
      const v = query[name];
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      return Number.isFinite(n) ? Math.trunc(n) : Number.NaN;
    };
    const page = num('start_index', 1);
    let count = num('count', 20);
    const removed = num('removed', 0);
    const all = num('all', 1);
    const timeType = num('time_type', 1);
    const group = query.group_id === undefined || query.group_id === '' ? undefined : num('group_id', 0);
    for (const [name, value, ok] of [
      ['start_index', page, page >= 1],
      ['count', count, !Number.isNaN(count)],
      ['removed', removed, removed === 0 || removed === 1],
      ['all', all, all === 0 || all === 1 || all === 2],
      ['time_type', timeType, timeType >= 1 && timeType <= 3],
      ['group_id', group, group === undefined || group >= 0],
    ] as const) {
      if (!ok) return json(200, { code: 400, message: `参数错误: ${name}=${query[name]}`, now, data: [] });
    }
    if (count < 1) count = 20;
    count = Math.min(count, 100);
    let start: number | undefined;
    let end: number | undefined;
    if (query.start_time) {
      start = parseChinaTime(query.start_time);
      if (start === undefined) return json(200, { code: 400, message: `start_time 格式错误: ${query.start_time}，应为 YYYY-MM-DD HH:MM:SS`, now, data: [] });
    }
    if (query.end_time) {
      end = parseChinaTime(query.end_time, true);
      if (end === undefined) return json(200, { code: 400, message: `end_time 格式错误: ${query.end_time}，应为 YYYY-MM-DD HH:MM:SS`, now, data: [] });
    }
    const rows = this.filtered(removed === 1, all, group, timeType, start, end);
    const slice = rows.slice((page - 1) * count, page * count);
    return json(200, {
      code: 200,
      message: 'success',
      now,
      data: { list: slice.map((c) => listRow(c)), totalItem: rows.length, count: slice.length },
    });
  }

  private filtered(removed: boolean, all: number, group: number | undefined, timeType: number, start?: number, end?: number): StoredCompany[] {
    const source = removed ? this.removed : this.live;
    if (all === 1 && group === undefined && start === undefined && end === undefined) return source;
    const key = `${removed}|${all}|${group}|${timeType}|${start}|${end}`;
    const cached = this.filterCache.get(key);
    if (cached && cached.version === this.version) return cached.rows;
    const field = timeType === 2 ? 'create_time' : timeType === 3 ? 'archive_time' : 'update_time';
    // Both ends inclusive, to the second: OKKI's wall-clock times carry no milliseconds.
    const lo = start === undefined ? undefined : Math.floor(start / 1000);
    const hi = end === undefined ? undefined : Math.floor(end / 1000);
    const rows = source.filter((c) => {
      if (all === 0 && c.user_id.length === 0) return false;
      if (all === 2 && c.user_id.length > 0) return false;
      if (group !== undefined && c.group_id !== group) return false;
      const t = Math.floor(c[field] / 1000);
      if (lo !== undefined && t < lo) return false;
      if (hi !== undefined && t > hi) return false;
      return true;
    });
    if (this.filterCache.size >= 16) this.filterCache.clear();
    this.filterCache.set(key, { version: this.version, rows });
    return rows;
  }

  private detail(query: Record<string, string>): Answer {
    const now = formatChinaTime(this.now());
    let c: StoredCompany | undefined;
    const serial = query.serial_id?.trim();
    if (query.company_id) c = this.byId.get(Number(query.company_id));
    else if (serial) c = this.live.find((x) => x.serial_id === serial);
    else return json(200, { code: 400, message: '参数错误: company_id 或 serial_id 必须传一个', now, data: [] });
    if (!c) return json(200, { code: 404, message: 'Not Found Resource', now, data: [] });
    return json(200, { code: 200, message: 'success', now, data: this.info(c) });
  }

  /** A company in the shape of the official `company/info` example. */
  private info(c: StoredCompany): Record<string, unknown> {
    const q = c.seq;
    const status = OKKI_TRAIL_STATUSES[c.trail_status] ?? OKKI_TRAIL_STATUSES[0]!;
    const group = OKKI_GROUPS.find((g) => g.id === c.group_id);
    const owners = c.user_id.map((id) => ({ user_id: id, nickname: OKKI_USERS.find((u) => u.user_id === id)?.nickname ?? '' }));
    const lastOwner = c.user_id[0] ?? OKKI_USERS[0]!.user_id;
    const customers = this.generator.contacts(c).map((k) => contact(k, c));
    return {
      company_id: c.company_id,
      short_name: c.short_name,
      name: c.name,
      category_ids: [],
      serial_id: c.serial_id,
      archive_time: fmt(c.archive_time),
      archive_type: c.archive_type,
      country: c.country,
      province: c.province,
      city: c.city,
      biz_type: '',
      last_owner: lastOwner,
      pool_id: c.pool_id,
      private_time: fmt(c.user_id.length > 0 ? c.create_time : 0),
      public_time: fmt(c.user_id.length > 0 ? 0 : c.edit_time),
      intention_level: c.intention_level,
      annual_procurement: 0,
      timezone: '',
      scale_id: c.scale_id,
      star: c.star,
      group_id: q % 4 === 2 ? String(c.group_id) : c.group_id,
      trail_status: { status_id: status.id, status_name: status.name, status_color: status.color, info_value: status.id, info_label: status.name },
      origin: 0,
      origin_list: [],
      homepage: c.homepage,
      fax: c.fax,
      tel: [c.tel[0], c.tel[1]],
      tel_area_code: c.tel[0],
      address: c.address,
      remark: c.remark,
      image_list: [],
      next_follow_up_time: fmt(c.next_follow_up_time),
      create_user: c.create_user,
      create_time: fmt(c.create_time),
      last_edit_user: String(c.last_edit_user),
      update_time: fmt(c.update_time),
      tag: [],
      product_group_ids: [],
      release_count: c.user_id.length > 0 ? 0 : 1,
      public_type: c.user_id.length > 0 ? 0 : 1,
      edit_time: fmt(c.edit_time),
      main_lead_id: 0,
      order_time: fmt(c.order_time),
      recent_follow_up_time: fmt(c.order_time),
      client_tag_list: [],
      next_move_to_public_date: '1970-01-01',
      country_region: { city: c.city, country: c.country, province: c.province },
      user_id: [...c.user_id],
      deal_time: '',
      origin_name: '',
      trail_status_name: status.name,
      pool_name: c.user_id.length > 0 ? '' : '公共公海分组',
      company: [
        {
          group_id: 1,
          name: '基本信息',
          fields: [
            { id: 'name', name: '公司名称', field_type: '1', value: c.name },
            { id: 'short_name', name: '简称', field_type: '1', value: c.short_name },
            { id: '13193462587148', name: '成立时间', field_type: '4', value: '' },
          ],
        },
        {
          group_id: 3,
          name: '管理信息',
          fields: [
            { id: 'star', name: '客户星级', field_type: '5', value: c.star },
            { id: 'group_id', name: '客户分组', field_type: '3', value: group?.name ?? '未分组' },
            { id: 'trail_status', name: '客户阶段', field_type: '3', value: status.name },
          ],
        },
        {
          group_id: 4,
          name: '联系信息',
          fields: [
            { id: 'homepage', name: '公司网址', field_type: '1', value: c.homepage },
            { id: 'tel', name: '座机', field_type: '1', value: { tel_area_code: c.tel[0], tel: c.tel[1] } },
            { id: 'address', name: '详细地址', field_type: '2', value: c.address },
            { id: 'fax', name: '传真', field_type: '1', value: c.fax },
          ],
        },
      ],
      lead: [],
      last_owner_info: { user_id: String(lastOwner), name: OKKI_USERS.find((u) => u.user_id === lastOwner)?.nickname ?? '', nickname: OKKI_USERS.find((u) => u.user_id === lastOwner)?.nickname ?? '' },
      owner: owners,
      customers,
    };
  }

  private apply(c: StoredCompany, changes: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(changes)) {
      switch (key) {
        case 'name':
        case 'short_name':
        case 'serial_id':
        case 'homepage':
        case 'fax':
        case 'address':
        case 'country':
        case 'province':
        case 'city':
        case 'remark':
          c[key] = String(value ?? '');
          break;
        case 'group_id':
        case 'pool_id':
        case 'create_user':
        case 'last_edit_user':
        case 'archive_type':
        case 'star':
        case 'scale_id':
        case 'intention_level':
          c[key] = Number(value);
          break;
        case 'trail_status': {
          const id = typeof value === 'object' && value !== null ? String((value as { status_id?: unknown }).status_id) : String(value);
          const index = OKKI_TRAIL_STATUSES.findIndex((s) => s.id === id);
          if (index < 0) throw new Error(`OKKI sandbox: unknown trail_status ${id}`);
          c.trail_status = index;
          break;
        }
        case 'create_time':
        case 'archive_time':
        case 'update_time':
        case 'edit_time':
        case 'order_time':
        case 'next_follow_up_time':
          c[key] = toMs(value, key);
          break;
        case 'user_id':
          c.user_id = (Array.isArray(value) ? value : value === '' || value === null || value === undefined ? [] : String(value).split(',')).map(Number).filter((n) => n > 0);
          break;
        case 'tel': {
          const pair = Array.isArray(value) ? value : ['', value];
          c.tel = [String(pair[0] ?? ''), String(pair[1] ?? '')];
          break;
        }
        case 'customers':
          if (!Array.isArray(value)) throw new Error('OKKI sandbox: customers must be an array');
          c.customers = value.map((v, i) => toContact(v as Record<string, unknown>, this.generator.nextCustomerId(c, i)));
          break;
        case 'company_id':
          break;
        default:
          throw new Error(`OKKI sandbox: cannot set ${key}`);
      }
    }
  }
}

/** Starts an OKKI simulator on 127.0.0.1 and resolves once it listens. */
export async function startOkkiSandbox(options: OkkiSandboxOptions = {}): Promise<OkkiSandbox> {
  return new OkkiSandbox(options).listen();
}

/** A list row: the list fields only, with the id quirks of the official examples. */
function listRow(c: StoredCompany): Record<string, unknown> {
  const q = c.seq;
  return {
    company_id: q % 10 === 3 ? String(c.company_id) : c.company_id,
    user_id: c.user_id.length === 0 ? '' : q % 5 === 1 ? c.user_id[0] : c.user_id.join(','),
    name: c.name,
    short_name: c.short_name,
    serial_id: c.serial_id,
    order_time: fmt(c.order_time),
    create_time: fmt(c.create_time),
    update_time: fmt(c.update_time),
    create_user: c.create_user,
    last_edit_user: String(c.last_edit_user),
    archive_type: q % 6 === 2 ? String(c.archive_type) : c.archive_type,
    edit_time: fmt(c.edit_time),
  };
}

function contact(k: StoredContact, c: StoredCompany): Record<string, unknown> {
  return {
    customer_id: k.customer_id,
    company_id: c.seq % 3 === 0 ? String(c.company_id) : c.company_id,
    name: k.name,
    email: k.email,
    gender: k.gender,
    remark: k.remark,
    birth: '',
    tel_list: k.tel_list.map(([a, n]) => [a, n]),
    post_grade: 0,
    post: k.post,
    image_list: [],
    contact: k.contact.map((x) => ({ ...x })),
    main_customer_flag: c.seq % 11 === 5 ? String(k.main_customer_flag) : k.main_customer_flag,
    external_field_data: [],
  };
}

function toContact(v: Record<string, unknown>, fallbackId: number): StoredContact {
  const tel = Array.isArray(v.tel_list) ? (v.tel_list as unknown[]).map((p) => (Array.isArray(p) ? [String(p[0] ?? ''), String(p[1] ?? '')] : ['', String(p)]) as [string, string]) : [];
  return {
    customer_id: v.customer_id === undefined ? fallbackId : Number(v.customer_id),
    name: String(v.name ?? ''),
    email: String(v.email ?? ''),
    tel_list: tel,
    post: String(v.post ?? ''),
    gender: Number(v.gender ?? 0),
    main_customer_flag: Number(v.main_customer_flag ?? 0),
    contact: Array.isArray(v.contact) ? (v.contact as { type: string; value: string }[]) : [],
    remark: String(v.remark ?? ''),
  };
}

function toMs(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  const s = String(value ?? '');
  if (s === '' || s.startsWith('1970-01-01')) return 0;
  const ms = parseChinaTime(s);
  if (ms === undefined) throw new Error(`OKKI sandbox: ${field} must be YYYY-MM-DD HH:MM:SS, got ${s}`);
  return ms;
}

function invalidRequest(description: string): Answer {
  return json(400, { error: 'invalid_request', error_description: description, message: description });
}

function html(status: number, body: string): Answer {
  return { status, headers: { 'content-type': HTML_TYPE }, body };
}

function nginxPage(title: string): string {
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function send(res: ServerResponse, answer: Answer): void {
  const body = Buffer.from(answer.body, 'utf8');
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function jwtLike(clientId: string, scope: string[], now: number, ttl: number): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const iat = Math.floor(now / 1000);
  const payload = { aud: clientId, jti: randomBytes(20).toString('hex'), iat, nbf: iat, exp: iat + ttl, sub: '', scopes: scope };
  return `${b64({ typ: 'JWT', alg: 'RS256' })}.${b64(payload)}.${randomBytes(64).toString('base64url')}`;
}

/** The list order: most recently updated first, then the larger company_id first. */
function newestFirst(a: StoredCompany, b: StoredCompany): number {
  return b.update_time - a.update_time || b.company_id - a.company_id;
}

/**
 * Where `c` goes in a list in {@link newestFirst} order: before the first row it sorts before. A list
 * disordered by `shift` changes stays disordered; the changed row lands among the rows it sorts with.
 */
function placeOf(list: StoredCompany[], c: StoredCompany): number {
  // Changes are at or near now, so the place is nearly always at the front: scan from there.
  for (let i = 0; i < list.length; i++) if (newestFirst(c, list[i] as StoredCompany) < 0) return i;
  return list.length;
}
