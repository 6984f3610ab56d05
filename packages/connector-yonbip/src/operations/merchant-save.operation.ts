import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'tsyringe';
import {
  RecordError,
  RetryableError,
  backoffDelay,
  type JsonSchema,
  type OperationManifest,
  type Target,
  type TargetPayload,
  type WriteContext,
  type WriteResult,
} from '@qiao/core';
import { manifest } from '../manifest.js';
import { YONBIP_SYSTEM, YonbipClient } from '../transport/yonbip-client.js';

export const MERCHANT_SAVE = 'merchant.save';
export const MERCHANT_DETAIL_API = '/yonbip/digitalModel/merchant/detail';

/** The manifest binding of this operation (客户档案保存). */
export const merchantSaveManifest: OperationManifest = findOperation(MERCHANT_SAVE);
const SAVE_API = merchantSaveManifest.api;
const LIST_API = merchantSaveManifest.upsert?.lookup ?? '/yonbip/digitalModel/merchant/list';

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

/**
 * merchant.save — saves one customer record (客户档案), upserting by `code`:
 * the id map (`ctx.knownId`) first, else `merchant/list` by code (compared exactly); found →
 * `_status: "Update"` with that id, not found → `_status: "Insert"` with a default 适用组织 row for
 * `createOrg`. A save whose outcome is unknown (timeout, lost connection, 5xx, cut answer) is resolved
 * by looking the code up before anything is repeated, so no retry ever inserts twice.
 */
@injectable()
export class MerchantSaveOperation implements Target {
  constructor(@inject(YonbipClient) private readonly client: YonbipClient) {}

  /** The gateway lookup and the token, while the source is still being read. */
  warmUp(signal: AbortSignal): Promise<void> {
    return this.client.warmUp(signal);
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const record = prepare(payload);
    const code = record.code as string;
    const { signal } = ctx;
    const policy = this.client.retry;
    const started = Date.now();
    let id = ctx.knownId ?? (record.id as string | undefined);
    // Whether `id` came from BIP just now (rather than from the id map or the payload).
    let fresh = false;
    // Whether an earlier Insert of this write may have been applied although its answer was lost.
    let insertMaybeApplied = false;
    let insertRefused = false;
    if (id === undefined) {
      // Covers ctx.maybeWritten too: without a known id the code is always looked up first.
      id = await this.findId(code, signal);
      fresh = true;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        if (id !== undefined) return { outcome: 'updated', id: await this.update(record, id, ctx) };
        return { outcome: 'inserted', id: await this.insert(record, ctx) };
      } catch (error) {
        if (error instanceof RecordError && error.reason === 'yonbip.999') {
          if (id !== undefined && !fresh) {
            // The id map (or the payload) may be stale: the customer was deleted or re-created in BIP.
            const found = await this.findId(code, signal);
            fresh = true;
            if (found !== id) {
              ctx.logger.debug(`yonbip merchant.save ${code}: id ${id} refused, BIP has ${found ?? 'no customer'} for this code`);
              id = found;
              continue;
            }
          } else if (id === undefined && !insertRefused) {
            // The code may have been taken since the lookup: by our own Insert whose answer was lost
            // (then that is our customer), or by another writer (then this becomes an Update).
            insertRefused = true;
            const found = await this.findId(code, signal);
            if (found !== undefined) {
              if (insertMaybeApplied) return { outcome: 'inserted', id: found };
              id = found;
              fresh = true;
              continue;
            }
          }
          throw error;
        }
        if (!(error instanceof RetryableError) || !error.outcomeUnknown) throw error;
        const delay = backoffDelay(attempt, policy, error.retryAfterMs);
        if (attempt >= policy.maxAttempts || Date.now() - started + delay > policy.maxElapsedMs) throw error;
        ctx.logger.debug(`yonbip merchant.save ${code}: outcome unknown (${error.message}); checking in ${delay} ms`);
        await sleep(delay, undefined, signal ? { signal } : undefined);
        if (id === undefined) {
          insertMaybeApplied = true;
          const found = await this.findId(code, signal);
          if (found !== undefined) return { outcome: 'inserted', id: found };
          // Not there: the Insert was not applied, send it again.
        }
        // An Update is repeated as it is (its contact rows are matched again against the saved customer).
      }
    }
  }

  /** BIP's id of the customer with exactly this code, or undefined. */
  async findId(code: string, signal?: AbortSignal): Promise<string | undefined> {
    const page = await this.client.post<MerchantListPage | null>(
      LIST_API,
      { pageIndex: 1, pageSize: 10, code },
      { idempotent: true, signal },
    );
    const row = page?.recordList?.find((r) => r !== null && String(r.code) === code);
    return row ? idString(row.id) : undefined;
  }

  private async insert(record: Row, ctx: WriteContext): Promise<string | undefined> {
    const { id: _id, merchantApplyRanges, merchantContacterInfos, ...header } = record;
    const data: Row = { ...header, _status: 'Insert' };
    const ranges = Array.isArray(merchantApplyRanges) ? (merchantApplyRanges as Row[]) : defaultRanges(header.createOrg);
    if (ranges.length) data.merchantApplyRanges = ranges.map((r) => ({ ...r, _status: r._status ?? 'Insert' }));
    if (Array.isArray(merchantContacterInfos)) {
      data.merchantContacterInfos = (merchantContacterInfos as Row[]).map((r) => ({ ...r, _status: r._status ?? 'Insert' }));
    }
    const saved = await this.client.post<Row | null>(SAVE_API, { data }, { signal: ctx.signal });
    return idString(saved?.id) ?? (await this.findId(record.code as string, ctx.signal));
  }

  private async update(record: Row, id: string, ctx: WriteContext): Promise<string> {
    // 适用组织 rows are sent on insert only: BIP refuses an org that is already applied.
    const { id: _id, merchantApplyRanges: _ranges, merchantContacterInfos, ...header } = record;
    const data: Row = { ...header, id, _status: 'Update' };
    if (Array.isArray(merchantContacterInfos) && merchantContacterInfos.length) {
      data.merchantContacterInfos = await this.contactsForUpdate(merchantContacterInfos as Row[], id, ctx.signal);
    }
    const saved = await this.client.post<Row | null>(SAVE_API, { data }, { signal: ctx.signal });
    return idString(saved?.id) ?? id;
  }

  /**
   * Contact rows without an id would be inserted again on every update; match them by name
   * (fullName.zh_CN) against the saved customer's contacts and update those instead.
   */
  private async contactsForUpdate(rows: Row[], id: string, signal?: AbortSignal): Promise<Row[]> {
    if (rows.every((r) => r.id !== undefined)) return rows.map((r) => ({ ...r, _status: r._status ?? 'Update' }));
    const saved = await this.client.get<Row | null>(MERCHANT_DETAIL_API, { id }, { signal });
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

/**
 * Normalises a mapped payload: drops empty values and `_status` (the operation decides it), applies
 * the manifest's defaults (配置值) to absent fields, turns `"true"`/`"false"` into booleans, and keeps
 * every id a string. Throws RecordError for a payload BIP could never accept.
 */
function prepare(payload: TargetPayload): Row {
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
  if (out.merchantOptions === 'true' || out.merchantOptions === 'false') out.merchantOptions = out.merchantOptions === 'true';
  for (const key of ID_KEYS) {
    if (out[key] !== undefined) out[key] = idField(key, out[key]);
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
