import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'tsyringe';
import {
  RecordError,
  RetryableError,
  backoffDelay,
  type BatchItem,
  type BatchResult,
  type PreflightContext,
  type PreflightFinding,
  type Target,
  type TargetPayload,
  type WriteContext,
  type WriteResult,
} from '@qiao/core';
import { YONBIP_SYSTEM, YonbipClient } from '../transport/yonbip-client.js';
import { prepare, type Multilingual } from './merchant-save.operation.js';
import { merchantSavePreflight } from './merchant-save.preflight.js';
import { BATCH_DETAIL_API, BATCH_SAVE_API, clearedFields, codesOf, heldFor, heldOf, MerchantIndex, NEWLIST_API, ReferenceCodes, type Held, type Row } from './merchant-v2.js';

export const MERCHANT_BATCH_SAVE = 'merchant.batchSave';

/** Rounds of sending what is still unresolved in a batch (after per-record answers, lookups and lost answers). */
const MAX_ROUNDS = 4;

/** One record of a batch on its way: its result slot, what BIP holds for it, and the row sent. */
interface Pending {
  at: number;
  record: Row;
  ctx: WriteContext;
  held: Held | undefined;
  /** An Insert of it may have been applied although its answer was lost. */
  insertMaybeApplied: boolean;
}

/**
 * merchant.batchSave (客户档案批量保存V2) — upserts customers by `code`, many per call:
 * - once per run, `merchant/newlist` loads the tenant's code → id index in pages of 500 (warm-up or the
 *   first batch), so no customer costs a lookup of its own;
 * - each batch is one `batch/merchant/save` with `{"data":[…]}`: `_status: "Update"` with the id and
 *   BIP's code for a customer BIP holds (id map with the code BIP answered, then the index),
 *   `_status: "Insert"` with a default 适用组织 row otherwise; an Update sends `ctx.clears` as JSON null;
 * - as merchant.save, a customer found by lookup (index, or after a lost answer) goes through
 *   `ctx.checkFound` before it is written: one the id map ties to another source record is refused;
 * - the answer is read in every shape the notes name: one customer object (the documented example), or
 *   `failCount`/`messages[{key,message}]`/`infos[]` as the sibling batch APIs answer. A record named in
 *   `messages` fails alone (its dead letter); a record the answer does not account for is looked up;
 * - a batch whose answer is lost (timeout, cut connection, 310504/310078/310071/202) is resolved with
 *   `merchant/newBatchDetail` by code (and `newlist` by exact name for an Insert whose code a coding
 *   rule may have replaced) before anything is sent again: what is there is written, the rest is resent;
 * - a whole-batch 999 (`服务端逻辑异常`, no per-record detail) is split into single-record calls, so one
 *   bad record does not sink the others.
 * Input fields are merchant.save's; the org and class ids are turned into the codes V2 wants.
 */
@injectable()
export class MerchantBatchSaveOperation implements Target {
  readonly index: MerchantIndex;
  private readonly refs: ReferenceCodes;

  constructor(@inject(YonbipClient) private readonly client: YonbipClient) {
    this.index = new MerchantIndex(client);
    this.refs = new ReferenceCodes(client);
  }

  /** The gateway address, the token, and the code → id index while the source is still being read. */
  async warmUp(signal: AbortSignal): Promise<void> {
    await this.client.warmUp(signal);
    await this.index.load(signal);
  }

  preflight(ctx: PreflightContext): Promise<PreflightFinding[]> {
    return merchantSavePreflight(this.client, [BATCH_SAVE_API, NEWLIST_API, BATCH_DETAIL_API], ctx);
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const [r] = await this.writeBatch([{ payload, ctx }]);
    if (!r) throw new Error('no result for a batch of one');
    if (r.ok) return r.result;
    throw r.error;
  }

  async writeBatch(items: BatchItem[]): Promise<BatchResult[]> {
    const results: BatchResult[] = new Array(items.length);
    const signal = items[0]?.ctx.signal;
    await this.index.load(signal);
    let pending: Pending[] = [];
    for (const [at, { payload, ctx }] of items.entries()) {
      try {
        const record = prepare(payload);
        // maybeWritten needs nothing more: the index was loaded after the earlier attempt, so a customer
        // it inserted is found here and updated, never inserted twice. A customer found in the index is
        // checked by core first (ctx.checkFound): one the id map ties to another source record is refused.
        const held = await heldFor(this.index, record.code as string, ctx);
        pending.push({ at, record, ctx, held, insertMaybeApplied: false });
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        results[at] = { ok: false, error };
      }
    }
    const policy = this.client.retry;
    const started = Date.now();
    for (let round = 1; pending.length; round++) {
      if (round > MAX_ROUNDS) {
        for (const p of pending) {
          results[p.at] = { ok: false, error: new RetryableError(`用友 YonBIP batch/merchant/save: record ${p.ctx.key} (code ${String(p.record.code)}) was not saved after ${MAX_ROUNDS} rounds`, { system: YONBIP_SYSTEM, reason: 'yonbip.batch_unresolved' }) };
        }
        break;
      }
      try {
        pending = await this.send(pending, results, signal);
      } catch (error) {
        if (error instanceof RecordError && error.reason === 'yonbip.999' && pending.length > 1) {
          // 服务端逻辑异常 for the batch as a whole: one record may be the cause; each goes alone.
          const next: Pending[] = [];
          for (const p of pending) next.push(...(await this.sendAlone(p, results, signal)));
          pending = next;
          continue;
        }
        const delay = error instanceof RetryableError ? backoffDelay(round, policy, error.retryAfterMs) : 0;
        if (!(error instanceof RetryableError) || !error.outcomeUnknown || round >= policy.maxAttempts || Date.now() - started + delay > policy.maxElapsedMs) {
          // What this batch settled stays settled; the rest gets the error (outcome-unknown: maybe written).
          for (const p of pending) results[p.at] = { ok: false, error };
          break;
        }
        items[0]?.ctx.logger.debug(`yonbip merchant.batchSave: outcome of a batch of ${pending.length} unknown (${error.message}); looking them up in ${delay} ms`);
        await sleep(delay, undefined, signal ? { signal } : undefined);
        pending = await this.resolveLost(pending, results, signal);
      }
    }
    return results;
  }

  private async sendAlone(p: Pending, results: BatchResult[], signal?: AbortSignal): Promise<Pending[]> {
    try {
      return await this.send([p], results, signal);
    } catch (error) {
      if (error instanceof RetryableError && error.outcomeUnknown) return this.resolveLost([p], results, signal);
      results[p.at] = { ok: false, error };
      return [];
    }
  }

  /** One batch/merchant/save call; settles what the answer accounts for, returns the rest. */
  private async send(pending: Pending[], results: BatchResult[], signal?: AbortSignal): Promise<Pending[]> {
    const rows: Row[] = [];
    const sent: Pending[] = [];
    for (const p of pending) {
      try {
        rows.push(await this.row(p, signal));
        sent.push(p);
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        results[p.at] = { ok: false, error };
      }
    }
    if (!rows.length) return [];
    const data = await this.client.post<unknown>(BATCH_SAVE_API, { data: rows }, { signal });
    const { saved, failed } = readAnswer(data, sent.length);
    const unclear: Pending[] = [];
    for (const p of sent) {
      const code = p.held?.code ?? (p.record.code as string);
      const name = (p.record.name as Multilingual).zh_CN;
      const info = saved.find((s) => s.code === code || (p.held !== undefined && s.id === p.held.id)) ?? (p.held ? undefined : saved.find((s) => s.name === name));
      if (info) {
        this.settle(p, results, info, p.held ? 'updated' : 'inserted');
        continue;
      }
      const message = failed.get(code) ?? failed.get(p.record.code as string);
      if (message !== undefined) {
        results[p.at] = { ok: false, error: new RecordError(`用友 YonBIP batch/merchant/save: ${message} (code ${String(p.record.code)})`, { system: YONBIP_SYSTEM, reason: 'yonbip.999' }) };
        continue;
      }
      unclear.push(p);
    }
    // Records the answer does not account for: their fate is unclear, look them up (an applied Insert counts as written).
    if (unclear.length) return this.resolveLost(unclear.map((p) => ({ ...p, insertMaybeApplied: p.held === undefined })), results, signal);
    return [];
  }

  /**
   * After a lost answer: every record may or may not have been saved. Inserts found by code (or by
   * exact name, when a coding rule may have replaced the code) are written; everything else is sent
   * again (an Update is repeated as it is).
   */
  private async resolveLost(pending: Pending[], results: BatchResult[], signal?: AbortSignal): Promise<Pending[]> {
    const inserts = pending.filter((p) => p.held === undefined);
    const found = await this.lookup(inserts.map((p) => p.record.code as string), signal);
    const next: Pending[] = [];
    for (const p of pending) {
      if (p.held !== undefined) {
        next.push(p);
        continue;
      }
      const held = found.get(p.record.code as string) ?? (await this.byName((p.record.name as Multilingual).zh_CN as string, signal));
      if (!held) {
        next.push({ ...p, insertMaybeApplied: true });
        continue;
      }
      try {
        // Ours when the Insert was applied; another source record's when the id map says so (never taken over).
        await p.ctx.checkFound?.(held);
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        results[p.at] = { ok: false, error };
        continue;
      }
      this.settle(p, results, held, 'inserted');
    }
    return next;
  }

  private settle(p: Pending, results: BatchResult[], info: { id: string; code: string }, outcome: 'inserted' | 'updated'): void {
    const held = { id: info.id, code: info.code };
    this.index.set(held);
    results[p.at] = { ok: true, result: { outcome, id: held.id, targetCode: held.code } };
  }

  /** Customers by code, in one newBatchDetail call (newlist by code when this tenant lacks it). */
  private async lookup(codes: string[], signal?: AbortSignal): Promise<Map<string, Held>> {
    const out = new Map<string, Held>();
    if (!codes.length) return out;
    let rows: unknown;
    try {
      rows = await this.client.post<unknown>(BATCH_DETAIL_API, codes.map((code) => ({ code })), { idempotent: true, signal });
    } catch (error) {
      if (!(error instanceof Error && 'reason' in error && error.reason === 'yonbip.310404')) throw error;
      rows = [];
      for (const code of codes) {
        const page = await this.client.post<unknown>(NEWLIST_API, { pageIndex: 1, pageSize: 10, code }, { idempotent: true, signal });
        if (Array.isArray(page)) (rows as unknown[]).push(...page);
      }
    }
    for (const r of Array.isArray(rows) ? rows : []) {
      const held = heldOf(r);
      if (held && codes.includes(held.code)) out.set(held.code, held);
    }
    return out;
  }

  /** The customer with exactly this name (BIP keeps names unique), via newlist's exact `name` filter. */
  private async byName(name: string, signal?: AbortSignal): Promise<Held | undefined> {
    const page = await this.client.post<unknown>(NEWLIST_API, { pageIndex: 1, pageSize: 10, name }, { idempotent: true, signal });
    const row = Array.isArray(page) ? (page as Row[]).find((r) => (r.name as { simplifiedName?: string } | undefined)?.simplifiedName === name) : undefined;
    return row ? heldOf(row) : undefined;
  }

  /** The row of one record in batch/merchant/save's documented shape. */
  private async row(p: Pending, signal?: AbortSignal): Promise<Row> {
    const { id: _id, merchantApplyRanges, merchantContacterInfos: _c, merchantAppliedDetail, createOrg_code: _o, customerClass_code: _k, ...header } = p.record;
    const { orgCode, classCode } = await codesOf(p.record, this.refs, signal);
    const detail: Row = { stopstatus: false, ...(isRow(merchantAppliedDetail) ? merchantAppliedDetail : {}) };
    const row: Row = { ...header, org_code: orgCode, ...(classCode ? { customerClass_code: classCode } : {}) };
    if (p.held) {
      // The code BIP holds: under a coding rule it refuses another. 适用组织 rows must be left out on Update.
      // Fields the last delivery had and the source has emptied since are sent as JSON null (clears).
      return { ...row, ...clearedFields(p.record, p.ctx.clears), id: p.held.id, code: p.held.code, _status: 'Update', merchantAppliedDetail: { ...detail, _status: 'Update' } };
    }
    const ranges = Array.isArray(merchantApplyRanges)
      ? (merchantApplyRanges as Row[]).map((r) => ({ ...r, _status: r._status ?? 'Insert' }))
      : [{ orgId: header.createOrg, orgCode, rangeType: 1, isCreator: true, isApplied: true, _status: 'Insert' }];
    return { ...row, _status: 'Insert', merchantAppliedDetail: { ...detail, _status: 'Insert' }, merchantApplyRanges: ranges };
  }
}

/**
 * Reads a batch answer in the shapes the notes name: one customer object (the documented success
 * example), `infos[]` of saved customers, `messages[{key, message}]` of failed ones (`failCount`).
 */
function readAnswer(data: unknown, sent: number): { saved: Array<Held & { name: string | undefined }>; failed: Map<string, string> } {
  const saved: Array<Held & { name: string | undefined }> = [];
  const failed = new Map<string, string>();
  const add = (r: unknown) => {
    const held = heldOf(r);
    if (held) saved.push({ ...held, name: ((r as Row).name as Multilingual | undefined)?.zh_CN });
  };
  if (Array.isArray(data)) data.forEach(add);
  else if (isRow(data)) {
    if (data.id !== undefined && sent === 1) add(data);
    if (Array.isArray(data.infos)) data.infos.forEach(add);
    if (Array.isArray(data.messages)) {
      for (const m of data.messages) {
        if (isRow(m) && m.key !== undefined) failed.set(String(m.key), String(m.message ?? ''));
      }
    }
  }
  return { saved, failed };
}

function isRow(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
