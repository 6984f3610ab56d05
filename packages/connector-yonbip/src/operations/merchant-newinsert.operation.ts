import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'tsyringe';
import {
  RetryableError,
  backoffDelay,
  type PreflightContext,
  type PreflightFinding,
  type Target,
  type TargetPayload,
  type WriteContext,
  type WriteResult,
} from '@qiao/core';
import { YonbipClient } from '../transport/yonbip-client.js';
import { prepare, type Multilingual } from './merchant-save.operation.js';
import { merchantSavePreflight } from './merchant-save.preflight.js';
import { clearedFields, codesOf, heldFor, heldOf, MerchantIndex, NEWINSERT_API, NEWLIST_API, NEWUPDATE_API, ReferenceCodes, type Held, type Row } from './merchant-v2.js';

export const MERCHANT_NEWINSERT = 'merchant.newinsert';

/**
 * The `resubmitCheckKey` of a record's insert: stable for a source key and code, 32 characters (the
 * documented maximum), so a repeated insert whose answer was lost gets the first one's result back.
 * @example resubmitCheckKey('42', 'C001') // 'qiao' + 28 hex digits
 */
export function resubmitCheckKey(sourceKey: string, code: string): string {
  return `qiao${createHash('sha256').update(`${sourceKey}\n${code}`).digest('hex').slice(0, 28)}`;
}

/**
 * merchant.newinsert (客户档案保存V2, MDD idempotent) — upserts one customer at a time by `code`:
 * the code → id index is loaded once per run with `merchant/newlist`; a customer BIP holds is updated
 * with `merchant/newupdate` (by id, with the code BIP holds, `ctx.clears` as JSON null; one found in
 * the index goes through `ctx.checkFound` first), a new one inserted with
 * `merchant/idempotent/newinsert` and a {@link resubmitCheckKey} from its source key. An insert whose
 * outcome is unknown is simply sent again with the same key: BIP answers the first result. One call
 * per customer, against two for merchant.save.
 */
@injectable()
export class MerchantNewinsertOperation implements Target {
  readonly index: MerchantIndex;
  private readonly refs: ReferenceCodes;

  constructor(@inject(YonbipClient) private readonly client: YonbipClient) {
    this.index = new MerchantIndex(client);
    this.refs = new ReferenceCodes(client);
  }

  async warmUp(signal: AbortSignal): Promise<void> {
    await this.client.warmUp(signal);
    await this.index.load(signal);
  }

  preflight(ctx: PreflightContext): Promise<PreflightFinding[]> {
    return merchantSavePreflight(this.client, [NEWINSERT_API, NEWUPDATE_API, NEWLIST_API], ctx);
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const record = prepare(payload);
    const { signal } = ctx;
    await this.index.load(signal);
    const code = record.code as string;
    // The id map (with the code BIP answered), else the index: a customer found there is checked by core first.
    const held: Held | undefined = await heldFor(this.index, code, ctx);
    const { orgCode, classCode } = await codesOf(record, this.refs, signal);
    const { id: _id, merchantApplyRanges: _r, merchantContacterInfos: _c, createOrg_code: _o, customerClass_code: _k, name, ...header } = record;
    const body: Row = {
      ...header,
      name: { simplifiedName: (name as Multilingual).zh_CN },
      createOrgCode: orgCode,
      ...(classCode ? { customerClassCode: classCode } : {}),
      enterpriseNature: header.enterpriseNature ?? 0,
    };
    if (held) {
      // newupdate is not idempotent by key, but an Update repeated is harmless: the HTTP layer's retry is enough.
      // Fields emptied in the source since the last delivery: JSON null, as merchant.save sends them.
      const data = await this.client.post<unknown>(NEWUPDATE_API, { ...body, ...clearedFields(record, ctx.clears), id: held.id, code: held.code }, { signal, idempotent: true });
      return { outcome: 'updated', ...this.saved(data, held) };
    }
    const key = resubmitCheckKey(ctx.key, code);
    const policy = this.client.retry;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const data = await this.client.post<unknown>(NEWINSERT_API, { data: { ...body, code, resubmitCheckKey: key } }, { signal });
        return { outcome: 'inserted', ...this.saved(data, undefined) };
      } catch (error) {
        if (!(error instanceof RetryableError) || !error.outcomeUnknown) throw error;
        const delay = backoffDelay(attempt, policy, error.retryAfterMs);
        if (attempt >= policy.maxAttempts || Date.now() - started + delay > policy.maxElapsedMs) throw error;
        ctx.logger.debug(`yonbip merchant.newinsert ${code}: outcome unknown (${error.message}); sending again with resubmitCheckKey ${key} in ${delay} ms`);
        await sleep(delay, undefined, signal ? { signal } : undefined);
      }
    }
  }

  /** The id and code of a V2 answer (`[{id, code}]`, or after a duplicate submit `data` with the id only). */
  private saved(data: unknown, held: Held | undefined): { id?: string; targetCode?: string } {
    const first = Array.isArray(data) ? data[0] : data;
    const h = heldOf(first);
    if (h) {
      this.index.set(h);
      return { id: h.id, targetCode: h.code };
    }
    const id = typeof first === 'string' || typeof first === 'number' || typeof first === 'bigint' ? String(first) : ((first as Row | null)?.id as string | undefined);
    return held ? { id: id === undefined ? held.id : String(id), targetCode: held.code } : id === undefined ? {} : { id: String(id) };
  }
}
