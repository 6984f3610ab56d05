import { parseJson } from '@qiao/core';

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
  /** @default {@link YONBIP_SANDBOX_ORG} */
  createOrg?: string;
  [field: string]: unknown;
}

/** An organisation (业务单元) of the simulated tenant, as `orgunit/querytree` lists it. */
export interface SandboxOrg {
  id: string;
  code: string;
  name: string;
  /** 0 not enabled, 1 enabled, 2 disabled. @default 1 */
  enable?: 0 | 1 | 2;
}

/** A customer class (客户分类) of the simulated tenant, as `custcategory/tree` lists it. */
export interface SandboxCustomerClass {
  id: string;
  code: string;
  name: string;
}

/** The tenant's configuration the store enforces (see YonbipSandboxOptions for each). */
export interface TenantSetup {
  orgs: SandboxOrg[];
  customerClasses: SandboxCustomerClass[];
  codingRule?: { prefix: string } | undefined;
  requiredAppliedDetail: string[];
}

export type Row = Record<string, unknown>;
/** A YonBIP answer: `code` is `'200'` (or 200) on success, anything else is a refusal. */
export type Envelope = { code: string | number; message: string; data?: unknown };

/**
 * The simulated tenant's own organisation (业务单元) id: a 19-digit id beyond 2^53, and not the seed's
 * 1481709712348020742, which belongs to another company's tenant (a scheme that borrows it is refused).
 */
export const YONBIP_SANDBOX_ORG = '1870412293664489473';
/** The simulated tenant's own customer class (客户分类) id. */
export const YONBIP_SANDBOX_CUSTOMER_CLASS = '1870412293664489611';
/**
 * The organisation a seeded customer is created in when it names none.
 * @deprecated use {@link YONBIP_SANDBOX_ORG}
 */
export const YONBIP_DEFAULT_ORG = YONBIP_SANDBOX_ORG;

/** The tenant the sandbox simulates unless told otherwise: one org, one customer class, no coding rule. */
export function defaultTenant(): TenantSetup {
  return {
    orgs: [{ id: YONBIP_SANDBOX_ORG, code: 'qiao-sim', name: '桥模拟组织', enable: 1 }],
    customerClasses: [{ id: YONBIP_SANDBOX_CUSTOMER_CLASS, code: '01', name: '模拟客户分类' }],
    requiredAppliedDetail: [],
  };
}

/** What BIP calls the business-detail (客户业务信息) fields in its messages. */
const APPLIED_DETAIL_LABELS: Record<string, string> = {
  professSalesman: '专管业务员',
  specialManagementDep: '专管部门',
  taxRate: '税率',
  settlementMethod: '结算方式',
  shipmentMethod: '发运方式',
  deliveryWarehouse: '发货仓库',
  customerLevel: '客户级别',
  transactionCurrency: '交易币种',
  payway: '支付方式',
  collectionAgreement: '收款协议',
};

/** Fields that hold 19-digit ids (written as bare JSON numbers in answers, as BIP does). */
export const ID_FIELDS: ReadonlySet<string> = new Set([
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
  'merchantApplyRangeId',
  'professSalesman',
  'specialManagementDep',
  'taxRate',
  'settlementMethod',
  'shipmentMethod',
  'deliveryWarehouse',
  'customerLevel',
  'transactionCurrency',
  'collectionAgreement',
]);
const HEADER_ID_KEYS = ['createOrg', 'belongOrg', 'internalOrgId', 'customerClass', 'customerIndustry', 'channCustomerClass', 'invoicingCustomers', 'parentCustomer', 'suppliers'];

/** A request the simulated BIP refuses with code 999 and this message. */
/** A refusal BIP answers with 999 and this message. */
export class Refusal extends Error {}

const now = () => new Date().toISOString().replace('T', ' ').slice(0, 19);

/**
 * The customers (客户档案) of the simulated tenant and BIP's rules for them: unique codes, unique
 * Chinese names (客户名称重复), multilingual names, child rows with `_status`, exact 19-digit ids.
 * The server in yonbip-sandbox.ts answers the HTTP side.
 */
export class MerchantStore {
  private readonly byId = new Map<string, SandboxMerchant>();
  private readonly idByCode = new Map<string, string>();
  // Ids by name.zh_CN, so the name check and the lookup by code stay O(1) with 100k customers.
  private readonly idsByName = new Map<string, Set<string>>();
  private readonly inserts = new Map<string, number>();
  private lastId: bigint;
  private lastCode = 0;

  constructor(
    private readonly random: () => number,
    /** Bumped on every Insert and Update through the API (seeds not counted). */
    private readonly counters: { inserts: number; updates: number },
    /** Orgs, customer classes, the coding rule and required business details; changed in place by the sandbox. */
    readonly tenant: TenantSetup = defaultTenant(),
  ) {
    // Odd ids beyond 2^53: no double can hold them, so JSON.parse always changes them.
    this.lastId = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(random() * 400_000)) * 2n + 1n;
  }

  newId(): string {
    this.lastId += 2n * BigInt(1 + Math.floor(this.random() * 5000));
    return this.lastId.toString();
  }

  /** Saved customers, in creation order (copies). */
  all(): SandboxMerchant[] {
    return [...this.byId.values()].map((m) => structuredClone(m));
  }

  byCode(code: string): SandboxMerchant | undefined {
    const id = this.idByCode.get(code);
    const m = id === undefined ? undefined : this.byId.get(id);
    return m && structuredClone(m);
  }

  /** Code → number of Inserts ever applied through the API (seeds not counted). */
  insertsByCode(): Map<string, number> {
    return new Map(this.inserts);
  }

  /** Pre-creates a customer (e.g. to provoke 客户名称重复). */
  seed(input: SeedMerchantInput): SandboxMerchant {
    const { code, name, id, createOrg, ...rest } = input;
    if (this.idByCode.has(code)) throw new Error(`sandbox: code ${code} already exists`);
    const m: SandboxMerchant = {
      ...rest,
      id: id ?? this.newId(),
      code,
      name: typeof name === 'string' ? { zh_CN: name } : { ...name },
      createOrg: createOrg ?? YONBIP_SANDBOX_ORG,
      merchantApplyRanges: [],
      merchantContacterInfos: [],
      createTime: now(),
      modifyTime: now(),
      pubts: now(),
    };
    m.merchantApplyRanges.push({ id: this.newId(), orgId: m.createOrg, rangeType: 1, isCreator: true, isApplied: true });
    this.byId.set(m.id, m);
    this.idByCode.set(code, m.id);
    this.indexName(m.id, m.name.zh_CN);
    return structuredClone(m);
  }

  /** Renames a customer, as a user would in BIP. Returns false if the code is unknown. */
  rename(code: string, name: string): boolean {
    const id = this.idByCode.get(code);
    const m = id === undefined ? undefined : this.byId.get(id);
    if (!m) return false;
    const previous = m.name.zh_CN;
    m.name = { ...m.name, zh_CN: name };
    this.indexName(m.id, name, previous);
    m.modifyTime = now();
    return true;
  }

  /** `merchant/save`: an Insert or an Update, or a 999 refusal saying what is wrong. */
  save(body: string): Envelope {
    let data: Row;
    try {
      const parsed = parseBody(body);
      if (!isRow(parsed) || !isRow(parsed.data)) throw new Refusal('请求参数data不能为空');
      data = parsed.data;
      if (data._status === 'Insert') return ok(this.insert(data));
      if (data._status === 'Update') return ok(this.update(data));
      throw new Refusal(`_status必须为Insert或Update，实际为[${String(data._status ?? '')}]`);
    } catch (error) {
      if (error instanceof Refusal) return { code: '999', message: error.message };
      throw error;
    }
  }

  /** Applies an Insert (classic `merchant/save` body); throws {@link Refusal}. */
  insert(data: Row): SandboxMerchant {
    if (data.id !== undefined && data.id !== null && data.id !== '') throw new Refusal('新增客户时不能指定id');
    const sent = text(data.code);
    if (!sent) throw new Refusal('客户编码不能为空');
    // A coding rule (编码规则) replaces the code sent with the next one it generates; the answer carries it.
    const code = this.tenant.codingRule ? this.nextCode(this.tenant.codingRule.prefix) : sent;
    if (this.idByCode.has(code)) throw new Refusal(`客户编码[${code}]已存在`);
    const name = multilingual(data.name, '客户名称');
    this.nameFree(name, undefined);
    const createOrg = idOf(data.createOrg, 'createOrg');
    if (!createOrg) throw new Refusal('管理组织不能为空');
    this.orgExists(createOrg, '管理组织');
    const header = headerOf(data);
    for (const [k, v] of Object.entries(header)) if (v === null) delete header[k];
    if (typeof header.customerClass === 'string' && !this.tenant.customerClasses.some((c) => c.id === header.customerClass)) {
      throw new Refusal(`客户分类[${header.customerClass}]不存在`);
    }
    const detail = this.appliedDetail(data.merchantAppliedDetail, undefined);
    if (detail) header.merchantAppliedDetail = detail;
    const ranges: SandboxMerchant['merchantApplyRanges'] = [];
    if (data.merchantApplyRanges === undefined) {
      ranges.push({ id: this.newId(), orgId: createOrg, rangeType: 1, isCreator: true, isApplied: true });
    } else {
      for (const row of rowsOf(data.merchantApplyRanges, '适用组织')) {
        if (row._status !== 'Insert') throw new Refusal('新增客户时适用组织行的_status必须为Insert');
        const orgId = idOf(row.orgId, 'orgId');
        if (!orgId) throw new Refusal('适用组织不能为空');
        this.orgExists(orgId, '适用组织');
        if (ranges.some((r) => r.orgId === orgId)) throw new Refusal(`适用组织[${orgId}]重复`);
        ranges.push({ ...rangeFields(row), id: this.newId(), orgId });
      }
    }
    const contacts: SandboxMerchant['merchantContacterInfos'] = [];
    for (const row of data.merchantContacterInfos === undefined ? [] : rowsOf(data.merchantContacterInfos, '联系人')) {
      if (row._status !== 'Insert') throw new Refusal('新增客户时联系人行的_status必须为Insert');
      contacts.push({ ...contactFields(row), id: this.newId(), fullName: multilingual(row.fullName, '联系人姓名') });
    }
    const m: SandboxMerchant = {
      ...header,
      id: this.newId(),
      code,
      name,
      createOrg,
      merchantApplyRanges: ranges,
      merchantContacterInfos: contacts,
      createTime: now(),
      modifyTime: now(),
      pubts: now(),
    };
    this.byId.set(m.id, m);
    this.idByCode.set(code, m.id);
    this.indexName(m.id, m.name.zh_CN);
    this.inserts.set(code, (this.inserts.get(code) ?? 0) + 1);
    this.counters.inserts++;
    return m;
  }

  /** Applies an Update (classic `merchant/save` body, by id); throws {@link Refusal}. */
  update(data: Row): SandboxMerchant {
    const id = idOf(data.id, 'id');
    if (!id) throw new Refusal('更新客户时id不能为空');
    // Exact on all 19 digits: a client that rounded the id through a double finds nothing.
    const old = this.byId.get(id);
    if (!old) throw new Refusal(`客户档案不存在或已删除，id=${id}`);
    const m: SandboxMerchant = structuredClone(old);
    Object.assign(m, headerOf(data));
    // JSON null clears a header field (an absent one keeps its value): qiao sends it for a field
    // emptied in the source. An empty multilingual text is refused instead (不能为空).
    for (const [k, v] of Object.entries(m)) if (v === null) delete (m as Row)[k];
    if (data.code !== undefined) {
      const code = text(data.code);
      if (!code) throw new Refusal('客户编码不能为空');
      if (code !== old.code && this.tenant.codingRule) throw new Refusal(`客户编码由编码规则自动生成，不允许修改（当前编码[${old.code}]，传入[${code}]）`);
      if (code !== old.code && this.idByCode.has(code)) throw new Refusal(`客户编码[${code}]已存在`);
      m.code = code;
    }
    if (data.merchantAppliedDetail !== undefined) m.merchantAppliedDetail = this.appliedDetail(data.merchantAppliedDetail, old.merchantAppliedDetail as Row | undefined);
    if (data.name !== undefined) {
      m.name = multilingual(data.name, '客户名称');
      this.nameFree(m.name, id);
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
        m.merchantApplyRanges.push({ ...rangeFields(row), id: this.newId(), orgId });
      } else {
        const at = childIndex(m.merchantApplyRanges, row, '适用组织');
        if (row._status === 'Delete') m.merchantApplyRanges.splice(at, 1);
        else Object.assign(m.merchantApplyRanges[at] as Row, rangeFields(row));
      }
    }
    for (const row of data.merchantContacterInfos === undefined ? [] : rowsOf(data.merchantContacterInfos, '联系人')) {
      if (row._status === 'Insert') {
        m.merchantContacterInfos.push({ ...contactFields(row), id: this.newId(), fullName: multilingual(row.fullName, '联系人姓名') });
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
    if (m.code !== old.code) this.idByCode.delete(old.code);
    this.idByCode.set(m.code, id);
    this.byId.set(id, m);
    this.indexName(id, m.name.zh_CN, old.name.zh_CN);
    this.counters.updates++;
    return m;
  }

  /** `merchant/list`: a page of summaries (no child rows), by code or by part of the name. */
  list(body: string): Envelope {
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
      const id = this.idByCode.get(String(q.code));
      const m = id === undefined ? undefined : this.byId.get(id);
      rows = m ? [m] : [];
    } else rows = [...this.byId.values()];
    const name = typeof q.name === 'string' ? q.name : undefined;
    if (name) rows = rows.filter((m) => (m.name.zh_CN ?? '').includes(name));
    const page = rows.slice((pageIndex - 1) * pageSize, pageIndex * pageSize).map(summary);
    return {
      code: '200',
      message: '操作成功',
      data: { pageIndex, pageSize, recordCount: rows.length, pageCount: Math.ceil(rows.length / pageSize), recordList: page },
    };
  }

  /**
   * `merchant/detail`: one customer with its child rows, as seen from one org: the old doc (qliang)
   * makes `merchantApplyRangeId` or `orgId` required, and the customer must apply to that org.
   */
  detail(params: URLSearchParams): Envelope {
    const id = params.get('id') ?? '';
    const orgId = params.get('orgId') ?? '';
    const rangeId = params.get('merchantApplyRangeId') ?? '';
    // These answers carry a numeric code, as some BIP endpoints do: clients compare String(code).
    if (!orgId && !rangeId) return { code: 999, message: '参数merchantApplyRangeId和orgId不能同时为空' };
    const m = this.byId.get(id);
    if (!m) return { code: 999, message: `客户档案不存在或已删除，id=${id}` };
    const applies = m.merchantApplyRanges.some((r) => (rangeId ? r.id === rangeId : r.orgId === orgId));
    if (!applies) return { code: 999, message: `客户[${m.code}]在${rangeId ? `适用范围[${rangeId}]` : `组织[${orgId}]`}下不存在` };
    return { code: 200, message: '操作成功', data: m };
  }

  /**
   * `merchant/stop` (`stopped`) or `merchant/unstop`: `{"data":[{merchantId, orgId}]}`; sets the
   * customer's `stopStatus` (and `merchantAppliedDetail.stopstatus`) for an org it applies to. Answers
   * in the batch shape of `merchant/batchDo` (`count`, `sucessCount`, `failCount`, `messages`), one
   * message per refused row. Stopping a stopped customer succeeds and changes nothing. A customer that
   * was never stopped has no `stopStatus` (the sandbox adds it on the first stop).
   */
  setStopped(body: string, stopped: boolean): Envelope {
    let rows: Row[];
    try {
      const parsed = body.trim() === '' ? {} : parseBody(body);
      if (!isRow(parsed) || !Array.isArray(parsed.data) || !parsed.data.every(isRow)) throw new Refusal('请求参数格式错误: data 应为 [{merchantId, orgId}]');
      rows = parsed.data as Row[];
    } catch (error) {
      if (error instanceof Refusal) return { code: '999', message: error.message };
      throw error;
    }
    const messages: string[] = [];
    const infos: Row[] = [];
    for (const r of rows) {
      let id: string | undefined;
      let orgId: string | undefined;
      try {
        id = idOf(r.merchantId, 'merchantId');
        orgId = idOf(r.orgId, 'orgId');
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        messages.push(error.message);
        continue;
      }
      if (!id || !orgId) {
        messages.push('参数merchantId和orgId不能为空');
        continue;
      }
      const m = this.byId.get(id);
      if (!m) {
        messages.push(`客户档案不存在或已删除，id=${id}`);
        continue;
      }
      if (!m.merchantApplyRanges.some((a) => a.orgId === orgId)) {
        messages.push(`客户[${m.code}]在组织[${orgId}]下不存在`);
        continue;
      }
      m.stopStatus = stopped;
      if (isRow(m.merchantAppliedDetail)) m.merchantAppliedDetail = { ...m.merchantAppliedDetail, stopstatus: stopped };
      m.modifyTime = now();
      m.pubts = now();
      infos.push({ id: m.id, code: m.code, stopStatus: stopped });
    }
    const ok = rows.length - messages.length;
    return { code: '200', message: '操作成功', data: { count: rows.length, sucessCount: ok, failCount: messages.length, messages, infos } };
  }

  /** `orgunit/querytree`: the tenant's orgs (a flat tree: no parents in the sandbox), filtered by code, name, enable. */
  orgTree(body: string): Envelope {
    let q: Row;
    try {
      const parsed = body.trim() === '' ? {} : parseBody(body);
      q = isRow(parsed) ? parsed : {};
    } catch (error) {
      if (error instanceof Refusal) return { code: 999, message: error.message };
      throw error;
    }
    const rows = this.tenant.orgs
      .filter((o) => (q.code === undefined || q.code === o.code) && (q.name === undefined || q.name === o.name))
      .filter((o) => q.enable === undefined || String(q.enable) === String(o.enable ?? 1))
      .map((o) => ({ id: o.id, code: o.code, name: o.name, level: 1, parent: '', orgtype: 1, enable: o.enable ?? 1, dr: 0, pubts: now(), children: [] }));
    return { code: '200', message: '操作成功', data: rows };
  }

  /** `custcategory/tree`: customer classes matching `condition.simpleVOs` (`eq` / `like` on id, code, name); `data` null when none. */
  classTree(body: string): Envelope {
    let vos: Row[] = [];
    try {
      const parsed = body.trim() === '' ? {} : parseBody(body);
      const condition = isRow(parsed) && isRow(parsed.condition) ? parsed.condition : {};
      vos = Array.isArray(condition.simpleVOs) ? condition.simpleVOs.filter(isRow) : [];
    } catch (error) {
      if (error instanceof Refusal) return { code: '999', message: error.message };
      throw error;
    }
    const rows = this.tenant.customerClasses.filter((c) =>
      vos.every((vo) => {
        const field = String(vo.field ?? '');
        if (field !== 'id' && field !== 'code' && field !== 'name') return true;
        const value = String(c[field]);
        const wanted = String(vo.value1 ?? '');
        return vo.op === 'like' ? value.includes(wanted) : value === wanted;
      }),
    );
    const data = rows.map((c) => ({ id: c.id, code: c.code, name: { zh_CN: c.name }, level: 1, isEnd: true, children: [] }));
    return { code: '200', message: '操作成功', data: data.length ? data : null };
  }

  private orgExists(id: string, label: string): void {
    const org = this.tenant.orgs.find((o) => o.id === id);
    if (!org) throw new Refusal(`${label}[${id}]不存在`);
    if ((org.enable ?? 1) !== 1) throw new Refusal(`${label}[${org.name}]未启用`);
  }

  private nextCode(prefix: string): string {
    let code: string;
    do code = `${prefix}${String(++this.lastCode).padStart(6, '0')}`;
    while (this.idByCode.has(code));
    return code;
  }

  /**
   * The business details (客户业务信息, `merchantAppliedDetail`) after an Insert (`previous` undefined)
   * or an Update: the tenant's required fields must be there on insert, ids stay exact.
   */
  private appliedDetail(value: unknown, previous: Row | undefined): Row | undefined {
    if (value !== undefined && value !== null && !isRow(value)) throw new Refusal('客户业务信息(merchantAppliedDetail)必须为对象');
    const sent: Row = {};
    for (const [k, v] of Object.entries(value ?? {})) {
      if (k === '_status' || v === null || v === '') continue;
      sent[k] = ID_FIELDS.has(k) && k !== 'id' ? idOf(v, `merchantAppliedDetail.${k}`) : v;
    }
    const merged: Row = { ...previous, ...sent };
    if (previous === undefined) {
      for (const field of this.tenant.requiredAppliedDetail) {
        if (merged[field] === undefined) throw new Refusal(`客户业务信息的[${APPLIED_DETAIL_LABELS[field] ?? field}]不能为空!`);
      }
    }
    if (Object.keys(merged).length === 0) return previous;
    merged.id ??= this.newId();
    return merged;
  }

  private nameFree(name: Multilingual, self: string | undefined): void {
    for (const other of this.idsByName.get(name.zh_CN ?? '') ?? []) {
      if (other !== self) throw new Refusal('客户名称重复');
    }
  }

  private indexName(id: string, name: string | undefined, previous?: string): void {
    if (previous !== undefined && previous !== name) this.idsByName.get(previous)?.delete(id);
    if (name === undefined) return;
    let ids = this.idsByName.get(name);
    if (!ids) this.idsByName.set(name, (ids = new Set()));
    ids.add(id);
  }
}

function ok(m: SandboxMerchant): Envelope {
  return { code: '200', message: '操作成功', data: m };
}

function summary(m: SandboxMerchant): Row {
  const { merchantApplyRanges: ranges, merchantContacterInfos: _c, merchantAppliedDetail: _d, ...header } = m;
  // The classic list carries the creator range's id (Bamboer ys_type.go), which merchant/detail accepts.
  const creator = ranges.find((r) => r.isCreator === true) ?? ranges[0];
  return creator ? { ...header, merchantApplyRangeId: creator.id } : header;
}

function headerOf(data: Row): Row {
  const header: Row = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === '_status' || k === 'id' || k === 'code' || k === 'name' || k === 'createOrg') continue;
    if (k === 'merchantApplyRanges' || k === 'merchantContacterInfos' || k === 'merchantAppliedDetail') continue;
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

export function isRow(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function parseBody(body: string): unknown {
  try {
    return parseJson(body);
  } catch {
    throw new Refusal('请求体不是合法的JSON');
  }
}
