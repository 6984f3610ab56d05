import { RecordError } from '@qiao/core';
import { YONBIP_SYSTEM, type YonbipClient } from '../transport/yonbip-client.js';
import { KEPT_ON_UPDATE } from './merchant-save.operation.js';
import { CLASS_TREE_API, ORG_TREE_API } from './merchant-save.preflight.js';

/** 客户档案列表查询V2. */
export const NEWLIST_API = '/yonbip/digitalModel/merchant/newlist';
/** 客户档案保存V2 (MDD idempotent). */
export const NEWINSERT_API = '/yonbip/digitalModel/merchant/idempotent/newinsert';
/** 客户档案更新保存-特征 (by id, else by code). */
export const NEWUPDATE_API = '/yonbip/digitalModel/merchant/newupdate';
/** 客户档案批量保存V2. */
export const BATCH_SAVE_API = '/yonbip/digitalModel/batch/merchant/save';
/** 客户详情批量查询-特征. */
export const BATCH_DETAIL_API = '/yonbip/digitalModel/merchant/newBatchDetail';

/**
 * Rows per newlist page when the index is loaded. The documented default is 500 and the maximum 5000;
 * newlist is configured with a 10 s timeout, so pages stay at the default.
 */
export const INDEX_PAGE_SIZE = 500;

export type Row = Record<string, unknown>;

/** A customer as BIP holds it: its id and its code (a coding rule may have made it differ from ours). */
export interface Held {
  id: string;
  code: string;
}

/**
 * The tenant's customers by code, loaded once per run with `merchant/newlist` in pages of
 * {@link INDEX_PAGE_SIZE} (a bare array: a short page is the last), instead of one lookup per customer.
 * Writes of this run keep it current; a failed load is tried again by the next write.
 */
export class MerchantIndex {
  private readonly byCode = new Map<string, Held>();
  private readonly byId = new Map<string, Held>();
  private loading: Promise<void> | undefined;
  /** newlist calls made to load it. */
  pages = 0;

  constructor(private readonly client: YonbipClient) {}

  load(signal?: AbortSignal): Promise<void> {
    if (!this.loading) {
      const p = this.fill(signal);
      this.loading = p;
      p.catch(() => {
        if (this.loading === p) this.loading = undefined;
      });
    }
    return this.loading;
  }

  get(code: string | undefined): Held | undefined {
    return code === undefined ? undefined : this.byCode.get(code);
  }

  /** The customer with this id as the index holds it (its code, when the id map has none). */
  getById(id: string | undefined): Held | undefined {
    return id === undefined ? undefined : this.byId.get(id);
  }

  set(held: Held): void {
    const before = this.byId.get(held.id);
    if (before && before.code !== held.code && this.byCode.get(before.code) === before) this.byCode.delete(before.code);
    this.byCode.set(held.code, held);
    this.byId.set(held.id, held);
  }

  private async fill(signal?: AbortSignal): Promise<void> {
    for (let pageIndex = 1; ; pageIndex++) {
      const rows = await this.client.post<unknown>(NEWLIST_API, { pageIndex, pageSize: INDEX_PAGE_SIZE }, { idempotent: true, signal });
      this.pages++;
      const list = Array.isArray(rows) ? (rows as Row[]) : [];
      for (const r of list) {
        const held = heldOf(r);
        if (held) this.set(held);
      }
      if (list.length < INDEX_PAGE_SIZE) return;
    }
  }
}

/**
 * The codes of the org and customer class the mapping names by id (the V2 APIs take codes:
 * `createOrgCode`/`org_code`, `customerClassCode`/`customerClass_code`), looked up once per id
 * with `orgunit/querytree` and `custcategory/tree`.
 */
export class ReferenceCodes {
  private readonly orgs = new Map<string, Promise<string>>();
  private readonly classes = new Map<string, Promise<string>>();

  constructor(private readonly client: YonbipClient) {}

  orgCode(id: string, signal?: AbortSignal): Promise<string> {
    return memo(this.orgs, id, () => this.find(ORG_TREE_API, {}, id, 'createOrg (管理组织id)', 'YONBIP_CREATE_ORG', signal));
  }

  classCode(id: string, signal?: AbortSignal): Promise<string> {
    const body = { condition: { simpleVOs: [{ field: 'id', op: 'eq', value1: id }] } };
    return memo(this.classes, id, () => this.find(CLASS_TREE_API, body, id, 'customerClass (客户分类id)', 'YONBIP_CUSTOMER_CLASS', signal));
  }

  private async find(api: string, body: Row, id: string, field: string, variable: string, signal?: AbortSignal): Promise<string> {
    const tree = await this.client.post<unknown>(api, body, { idempotent: true, signal });
    const code = findInTree(tree, id)?.code;
    if (code === undefined || code === null || code === '') {
      throw new RecordError(`用友 YonBIP: ${field} ${id} is not in this tenant (${api}); the V2 customer APIs need its code`, {
        system: YONBIP_SYSTEM,
        reason: 'yonbip.input',
        hint: `set ${variable} to an id of your own tenant (qiao check names it), or map the code directly`,
      });
    }
    return String(code);
  }
}

/** Org and class codes of a prepared record: mapped directly, or looked up from their ids. */
export async function codesOf(record: Row, refs: ReferenceCodes, signal?: AbortSignal): Promise<{ orgCode: string; classCode: string | undefined }> {
  const orgCode = text(record.createOrg_code) ?? (await refs.orgCode(String(record.createOrg), signal));
  const classCode = text(record.customerClass_code) ?? (record.customerClass === undefined ? undefined : await refs.classCode(String(record.customerClass), signal));
  return { orgCode, classCode };
}

export function heldOf(r: unknown): Held | undefined {
  if (r === null || typeof r !== 'object') return undefined;
  const row = r as Row;
  const id = idString(row.id);
  const code = text(row.code);
  return id && code ? { id, code } : undefined;
}

export function idString(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

function memo(cache: Map<string, Promise<string>>, key: string, load: () => Promise<string>): Promise<string> {
  let p = cache.get(key);
  if (!p) {
    const loading = load();
    p = loading;
    cache.set(key, loading);
    loading.catch(() => {
      if (cache.get(key) === loading) cache.delete(key);
    });
  }
  return p;
}

function findInTree(tree: unknown, id: string): Row | undefined {
  const stack: unknown[] = Array.isArray(tree) ? [...tree] : tree ? [tree] : [];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const row = node as Row;
    if (String(row.id) === id) return row;
    if (Array.isArray(row.children)) stack.push(...row.children);
  }
  return undefined;
}

/**
 * What BIP holds for one record before it is written, as merchant.save decides it: the id map's id
 * with the code BIP answered (the index's code for that id when the map predates codes, else the
 * mapped one); otherwise the index by the mapped code, then by the code BIP answered last time. A
 * customer found in the index (rather than through the id map) goes through `ctx.checkFound` first:
 * core refuses one the id map ties to another source record (`target.key_collision`), so it is
 * never updated for this one.
 */
export async function heldFor(index: MerchantIndex, code: string, ctx: { knownId?: string | undefined; knownCode?: string | undefined; checkFound?: ((found: { id: string; code?: string | undefined }) => Promise<void>) | undefined }): Promise<Held | undefined> {
  if (ctx.knownId !== undefined) return { id: ctx.knownId, code: ctx.knownCode ?? index.getById(ctx.knownId)?.code ?? code };
  const found = index.get(code) ?? index.get(ctx.knownCode);
  if (found) await ctx.checkFound?.(found);
  return found;
}

/**
 * An Update's header fields to clear (`ctx.clears`: delivered last time, empty now), sent as JSON null
 * as merchant.save does. Never the record's identity, its required fields or child rows.
 */
export function clearedFields(record: Row, clears: readonly string[] | undefined): Row {
  const out: Row = {};
  for (const field of clears ?? []) {
    if (!KEPT_ON_UPDATE.has(field) && record[field] === undefined) out[field] = null;
  }
  return out;
}
