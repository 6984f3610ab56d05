import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'tsyringe';
import {
  RecordError,
  RetryableError,
  backoffDelay,
  type JsonSchema,
  type OperationManifest,
  type PreflightContext,
  type PreflightFinding,
  type Target,
  type TargetPayload,
  type WriteContext,
  type WriteResult,
} from '@qiao/core';
import { manifest } from '../manifest.js';
import { YONBIP_SYSTEM, YonbipClient } from '../transport/yonbip-client.js';
import { merchantSavePreflight } from './merchant-save.preflight.js';

export const MERCHANT_SAVE = 'merchant.save';
export const MERCHANT_DETAIL_API = '/yonbip/digitalModel/merchant/detail';

/** The manifest binding of this operation (客户档案保存). */
export const merchantSaveManifest: OperationManifest = findOperation(MERCHANT_SAVE);
export const SAVE_API = merchantSaveManifest.api ?? '/yonbip/digitalModel/merchant/save';
export const LIST_API = merchantSaveManifest.upsert?.lookup ?? '/yonbip/digitalModel/merchant/list';

/** A multilingual text (多语): `name`, `shortname`, `address`, contacts' `fullName`. */
export interface Multilingual {
  zh_CN?: string;
  en_US?: string;
  zh_TW?: string;
}

/** One row of `merchant/list`: ids come back as exact digit strings (lossless parsing). */
export interface MerchantListRow {
  id: string;
  code: string;
  name?: Multilingual;
  [field: string]: unknown;
}

export interface MerchantListPage {
  pageIndex: number;
  pageSize: number;
  recordCount: number;
  pageCount: number;
  recordList: MerchantListRow[] | null;
}

type Row = Record<string, unknown>;

/** Reference fields holding 19-digit ids: sent as strings, never as JSON numbers. */
const ID_FIELDS = [
  'createOrg',
  'belongOrg',
  'internalOrgId',
  'customerClass',
  'customerIndustry',
  'channCustomerClass',
  'invoicingCustomers',
  'parentCustomer',
  'suppliers',
];

const ID_KEYS = ['id', ...ID_FIELDS];
const ROW_LISTS = ['merchantApplyRanges', 'merchantContacterInfos'];
/** Id fields of the business details (客户业务信息, `merchantAppliedDetail`). */
const APPLIED_DETAIL_IDS = [
  'id',
  'professSalesman',
  'specialManagementDep',
  'taxRate',
  'settlementMethod',
  'shipmentMethod',
  'deliveryWarehouse',
  'customerLevel',
  'transactionCurrency',
  'collectionAgreement',
];

/** A customer as BIP holds it: its id, and its code (which a coding rule may have made different from ours). */
interface Held {
  id: string;
  code: string | undefined;
}

/**
 * merchant.save — saves one customer record (客户档案), upserting by `code`:
 * the id map (`ctx.knownId`, with `ctx.knownCode`, the code BIP answered last time) first, else
 * `merchant/list` by code (compared exactly); found → `_status: "Update"` with that id and BIP's code,
 * not found → `_status: "Insert"` with a default 适用组织 row for `createOrg`. Every result carries the
 * code BIP answered (`targetCode`): under a coding rule (编码规则) it is not the one sent.
 * A customer a lookup found is handed to `ctx.checkFound` before it is updated (core refuses one the
 * id map ties to another source record). An Update sends each of `ctx.clears` as JSON null.
 *
 * A save whose outcome is unknown (timeout, lost connection, 5xx, 310504/310078/310071/202, cut answer)
 * is resolved before anything is repeated: by code, then — because a coding rule may have replaced the
 * code of an Insert that was applied — by exact name, which BIP keeps unique (客户名称重复). So no retry
 * ever inserts twice.
 */
@injectable()
export class MerchantSaveOperation implements Target {
  constructor(@inject(YonbipClient) private readonly client: YonbipClient) {}

  /** The gateway lookup and the token, while the source is still being read. */
  warmUp(signal: AbortSignal): Promise<void> {
    return this.client.warmUp(signal);
  }

  /** `qiao check`: the APIs this operation calls, and the org and customer class the mapping names. */
  preflight(ctx: PreflightContext): Promise<PreflightFinding[]> {
    return merchantSavePreflight(this.client, [SAVE_API, LIST_API, MERCHANT_DETAIL_API], ctx);
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const record = prepare(payload);
    const { signal } = ctx;
    const policy = this.client.retry;
    const started = Date.now();
    const known = ctx.knownId ?? (record.id as string | undefined);
    let held: Held | undefined = known === undefined ? undefined : { id: known, code: ctx.knownCode };
    // Whether `held` came from BIP just now (rather than from the id map or the payload).
    let fresh = false;
    // Whether an earlier Insert of this write may have been applied although its answer was lost.
    let insertMaybeApplied = false;
    let insertRefused = false;
    let codeCorrected = false;
    if (held === undefined) {
      // Covers ctx.maybeWritten too: without a known id the record is always looked up first, and by
      // name as well when an earlier attempt may have inserted it under a replaced code.
      held = await found(await this.locate(record, ctx.knownCode, ctx.maybeWritten, signal), ctx);
      fresh = true;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        if (held !== undefined) return { outcome: 'updated', ...(await this.update(record, held, ctx)) };
        return { outcome: 'inserted', ...(await this.insert(record, ctx)) };
      } catch (error) {
        if (error instanceof RecordError && error.reason === 'yonbip.999') {
          if (held !== undefined && !fresh) {
            // The id map (or the payload) may be stale: the customer was deleted or re-created in BIP,
            // or its code is not the one sent (a coding rule replaced it, and the map predates targetCode).
            const current = await this.held(held.id, record, signal);
            if (current && !codeCorrected && current.code !== undefined && current.code !== (held.code ?? record.code)) {
              codeCorrected = true;
              held = current;
              continue;
            }
            if (!current) {
              const other = await found(await this.locate(record, held.code, false, signal), ctx);
              fresh = true;
              ctx.logger.debug(`yonbip merchant.save ${String(record.code)}: id ${held.id} refused, BIP has ${other?.id ?? 'no customer'} for this code`);
              held = other;
              continue;
            }
          } else if (held === undefined && !insertRefused) {
            // The code (or name) may have been taken since the lookup: by our own Insert whose answer was
            // lost (then that is our customer), or by another writer (then this becomes an Update).
            insertRefused = true;
            const taken = await found(await this.locate(record, ctx.knownCode, insertMaybeApplied, signal), ctx);
            if (taken !== undefined) {
              if (insertMaybeApplied) return { outcome: 'inserted', id: taken.id, ...codeOf(taken) };
              held = taken;
              fresh = true;
              continue;
            }
          }
          throw error;
        }
        if (!(error instanceof RetryableError) || !error.outcomeUnknown) throw error;
        const delay = backoffDelay(attempt, policy, error.retryAfterMs);
        if (attempt >= policy.maxAttempts || Date.now() - started + delay > policy.maxElapsedMs) throw error;
        ctx.logger.debug(`yonbip merchant.save ${String(record.code)}: outcome unknown (${error.message}); checking in ${delay} ms`);
        await sleep(delay, undefined, signal ? { signal } : undefined);
        if (held === undefined) {
          insertMaybeApplied = true;
          const applied = await found(await this.locate(record, ctx.knownCode, true, signal), ctx);
          if (applied !== undefined) return { outcome: 'inserted', id: applied.id, ...codeOf(applied) };
          // Not there: the Insert was not applied, send it again.
        }
        // An Update is repeated as it is (its contact rows are matched again against the saved customer).
      }
    }
  }

  /** BIP's id of the customer with exactly this code, or undefined. */
  async findId(code: string, signal?: AbortSignal): Promise<string | undefined> {
    return (await this.findBy({ code }, (r) => String(r.code) === code, signal))?.id;
  }

  /**
   * The customer this record was (or may have been) saved as: by the mapped code; by the code BIP
   * answered last time (`knownCode`); and, when an Insert may have been applied under a code a coding
   * rule chose, by its exact Chinese name — BIP refuses a second customer of the same name, so a
   * customer with this name is this record.
   */
  private async locate(record: Row, knownCode: string | undefined, byName: boolean, signal?: AbortSignal): Promise<Held | undefined> {
    const code = record.code as string;
    const byCode = await this.findBy({ code }, (r) => String(r.code) === code, signal);
    if (byCode) return byCode;
    if (knownCode !== undefined && knownCode !== code) {
      const byKnown = await this.findBy({ code: knownCode }, (r) => String(r.code) === knownCode, signal);
      if (byKnown) return byKnown;
    }
    if (!byName) return undefined;
    const name = (record.name as Multilingual).zh_CN as string;
    // The classic list takes `name` (Bamboer ys_type.go); whether it matches exactly is not documented: compare here.
    return this.findBy({ name }, (r) => r.name?.zh_CN === name, signal);
  }

  private async findBy(query: Row, match: (row: MerchantListRow) => boolean, signal?: AbortSignal): Promise<Held | undefined> {
    const page = await this.client.post<MerchantListPage | null>(LIST_API, { pageIndex: 1, pageSize: 10, ...query }, { idempotent: true, signal });
    const row = page?.recordList?.find((r) => r !== null && match(r));
    const id = row ? idString(row.id) : undefined;
    return row && id ? { id, code: row.code === undefined || row.code === null ? undefined : String(row.code) } : undefined;
  }

  /** The customer with this id as BIP holds it now (`merchant/detail`, seen from `createOrg`), or undefined when it is gone. */
  private async held(id: string, record: Row, signal?: AbortSignal): Promise<Held | undefined> {
    try {
      const saved = await this.detail(id, record.createOrg as string | undefined, signal);
      return saved ? { id, code: saved.code === undefined ? undefined : String(saved.code) } : undefined;
    } catch (error) {
      if (error instanceof RecordError) return undefined;
      throw error;
    }
  }

  /**
   * `merchant/detail` for one customer. The old doc (qliang) requires `orgId` or `merchantApplyRangeId`
   * beside the id; callers that send the id alone rely on undocumented leniency. `orgId` is the
   * management org (`createOrg`), to which every customer created here applies.
   */
  private detail(id: string, orgId: string | undefined, signal?: AbortSignal): Promise<Row | null> {
    return this.client.get<Row | null>(MERCHANT_DETAIL_API, { id, ...(orgId ? { orgId } : {}) }, { signal });
  }

  private async insert(record: Row, ctx: WriteContext): Promise<{ id?: string; targetCode?: string }> {
    const { id: _id, merchantApplyRanges, merchantContacterInfos, merchantAppliedDetail, ...header } = record;
    const data: Row = { ...header, _status: 'Insert' };
    const ranges = Array.isArray(merchantApplyRanges) ? (merchantApplyRanges as Row[]) : defaultRanges(header.createOrg);
    if (ranges.length) data.merchantApplyRanges = ranges.map((r) => ({ ...r, _status: r._status ?? 'Insert' }));
    if (Array.isArray(merchantContacterInfos)) {
      data.merchantContacterInfos = (merchantContacterInfos as Row[]).map((r) => ({ ...r, _status: r._status ?? 'Insert' }));
    }
    if (isRow(merchantAppliedDetail)) data.merchantAppliedDetail = { ...merchantAppliedDetail, _status: 'Insert' };
    const saved = await this.client.post<Row | null>(SAVE_API, { data }, { signal: ctx.signal });
    const id = idString(saved?.id);
    if (id) return { id, ...codeOf({ code: saved?.code === undefined ? undefined : String(saved.code) }) };
    // An answer without the id: find what was saved (by name too, the code may have been replaced).
    const found = await this.locate(record, undefined, true, ctx.signal);
    return found ? { id: found.id, ...codeOf(found) } : {};
  }

  private async update(record: Row, held: Held, ctx: WriteContext): Promise<{ id: string; targetCode?: string }> {
    // 适用组织 rows are sent on insert only: BIP refuses an org that is already applied.
    const { id: _id, merchantApplyRanges: _ranges, merchantContacterInfos, merchantAppliedDetail, ...header } = record;
    // The code BIP holds, not the mapped one: under a coding rule BIP refuses to change it.
    const data: Row = { ...header, code: held.code ?? header.code, id: held.id, _status: 'Update' };
    // Fields the last delivery had and the source has emptied since: JSON null clears them (an
    // absent field would keep BIP's stale value). Never the header's keys, nor the child rows.
    for (const field of ctx.clears ?? []) {
      if (!KEPT_ON_UPDATE.has(field) && record[field] === undefined) data[field] = null;
    }
    if (Array.isArray(merchantContacterInfos) && merchantContacterInfos.length) {
      data.merchantContacterInfos = await this.contactsForUpdate(merchantContacterInfos as Row[], held.id, header.createOrg as string | undefined, ctx.signal);
    }
    if (isRow(merchantAppliedDetail)) data.merchantAppliedDetail = { ...merchantAppliedDetail, _status: 'Update' };
    const saved = await this.client.post<Row | null>(SAVE_API, { data }, { signal: ctx.signal });
    const code = saved?.code === undefined || saved.code === null ? (data.code as string | undefined) : String(saved.code);
    return { id: idString(saved?.id) ?? held.id, ...codeOf({ code }) };
  }

  /**
   * Contact rows without an id would be inserted again on every update; match them by name
   * (fullName.zh_CN) against the saved customer's contacts and update those instead.
   */
  private async contactsForUpdate(rows: Row[], id: string, orgId: string | undefined, signal?: AbortSignal): Promise<Row[]> {
    if (rows.every((r) => r.id !== undefined)) return rows.map((r) => ({ ...r, _status: r._status ?? 'Update' }));
    const saved = await this.detail(id, orgId, signal);
    const existing = Array.isArray(saved?.merchantContacterInfos) ? (saved.merchantContacterInfos as Row[]) : [];
    const byName = new Map<string, string>();
    for (const c of existing) {
      const name = (c.fullName as Multilingual | undefined)?.zh_CN;
      const cid = idString(c.id);
      if (name && cid && !byName.has(name)) byName.set(name, cid);
    }
    return rows.map((r) => {
      if (r.id !== undefined) return { ...r, _status: r._status ?? 'Update' };
      const match = byName.get((r.fullName as Multilingual | undefined)?.zh_CN ?? '');
      return match ? { ...r, id: match, _status: 'Update' } : { ...r, _status: r._status ?? 'Insert' };
    });
  }
}

/** Fields a clear never touches: the record's identity, required fields, and child rows (those have their own `_status`). */
export const KEPT_ON_UPDATE: ReadonlySet<string> = new Set(['id', 'code', 'name', 'createOrg', 'customerClass', 'merchantApplyRanges', 'merchantContacterInfos', 'merchantAppliedDetail']);

/**
 * A customer a lookup found, once core has checked that the id map ties it to no other source record
 * (`ctx.checkFound` rejects with `target.key_collision` otherwise): never update another record's customer.
 */
async function found(held: Held | undefined, ctx: WriteContext): Promise<Held | undefined> {
  if (held !== undefined) await ctx.checkFound?.(held);
  return held;
}

function codeOf(held: { code: string | undefined }): { targetCode?: string } {
  return held.code === undefined ? {} : { targetCode: held.code };
}

function isRow(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Normalises a mapped payload: drops empty values and `_status` (the operation decides it), applies
 * the manifest's defaults (配置值) to absent fields, turns `"true"`/`"false"` into booleans, and keeps
 * every id a string. Throws RecordError for a payload BIP could never accept.
 */
export function prepare(payload: TargetPayload): Row {
  const out: Row = {};
  for (const key in payload) {
    const value = payload[key];
    if (value === undefined || value === null || key === '_status' || !Object.hasOwn(payload, key)) continue;
    out[key] = value;
  }
  for (const [key, value] of defaults()) {
    if (out[key] === undefined) out[key] = value;
  }
  if (typeof out.code === 'number') out.code = String(out.code);
  if (typeof out.code !== 'string' || out.code.trim() === '') throw invalid('code (客户编码) is required');
  if (typeof out.name === 'string') out.name = { zh_CN: out.name };
  const name = out.name as Multilingual | undefined;
  if (typeof name?.zh_CN !== 'string' || name.zh_CN.trim() === '') throw invalid('name.zh_CN (客户名称) is required');
  if (out.createOrg === undefined) {
    // No default: an org id belongs to one tenant, and a borrowed one fails every insert.
    throw invalid('createOrg (管理组织id) is required: map it, e.g. `createOrg: { value: ${env:YONBIP_CREATE_ORG} }`');
  }
  if (out.merchantOptions === 'true' || out.merchantOptions === 'false') out.merchantOptions = out.merchantOptions === 'true';
  for (const key of ID_KEYS) {
    if (out[key] !== undefined) out[key] = idField(key, out[key]);
  }
  const detail = out.merchantAppliedDetail;
  if (detail !== undefined) {
    if (!isRow(detail)) throw invalid('merchantAppliedDetail (客户业务信息) must be an object');
    const d: Row = {};
    for (const [key, value] of Object.entries(detail)) {
      if (value === undefined || value === null || key === '_status') continue;
      d[key] = APPLIED_DETAIL_IDS.includes(key) ? idField(`merchantAppliedDetail.${key}`, value) : value;
    }
    out.merchantAppliedDetail = d;
  }
  for (const list of ROW_LISTS) {
    const rows = out[list];
    if (rows === undefined) continue;
    if (!Array.isArray(rows)) throw invalid(`${list} must be an array`);
    out[list] = rows.map((row: Row, i) => {
      const r: Row = { ...row };
      for (const key of ['id', 'orgId']) if (r[key] !== undefined) r[key] = idField(`${list}[${i}].${key}`, r[key]);
      return r;
    });
  }
  return out;
}

let defaultValues: [string, unknown][] | undefined;
/** The manifest's defaults (配置值) of merchant.save, read once. */
function defaults(): [string, unknown][] {
  defaultValues ??= Object.entries(merchantSaveManifest.input.properties ?? {})
    .filter(([, schema]) => (schema as JsonSchema).default !== undefined)
    .map(([key, schema]) => [key, (schema as JsonSchema).default]);
  return defaultValues;
}

function idField(name: string, value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalid(`${name} is a JSON number beyond 2^53 (${value}); it has lost digits — map it as a string`);
    }
    return String(value);
  }
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return value;
  throw invalid(`${name} must be a numeric id string, got ${JSON.stringify(value)}`);
}

function defaultRanges(createOrg: unknown): Row[] {
  if (typeof createOrg !== 'string') return [];
  return [{ orgId: createOrg, rangeType: 1, isCreator: true, isApplied: true, _status: 'Insert' }];
}

function idString(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

function invalid(message: string): RecordError {
  return new RecordError(`用友 YonBIP merchant.save: ${message}`, { system: YONBIP_SYSTEM, reason: 'yonbip.input' });
}

function findOperation(id: string): OperationManifest {
  const op = manifest.operations.find((o) => o.id === id);
  if (!op) throw new Error(`manifest.json declares no operation ${id}`);
  return op;
}
