import { inject, injectable } from 'tsyringe';
import { RecordError, type RemoveContext, type RemoveOutcome, type Remover } from '@qiao/core';
import { manifest } from '../manifest.js';
import { YONBIP_LABEL, YONBIP_SYSTEM, YonbipClient } from '../transport/yonbip-client.js';
import { MERCHANT_SAVE } from './merchant-save.operation.js';

const removal = manifest.operations.find((o) => o.id === MERCHANT_SAVE)?.remove;
/** `merchant/stop` (客户停用), declared as merchant.save's `remove`. */
export const STOP_API = removal?.api ?? '/yonbip/digitalModel/merchant/stop';
/** `merchant/unstop` (客户启用), declared as merchant.save's `remove.restore`. */
export const UNSTOP_API = removal?.restore ?? '/yonbip/digitalModel/merchant/unstop';

/** What merchant/stop and merchant/unstop answer in `data` (the batch shape of `merchant/batchDo`). */
interface StopAnswer {
  count?: number;
  sucessCount?: number;
  failCount?: number;
  messages?: unknown[];
}

/**
 * The remover of merchant.save (`target.onDelete: stop`): stops (停用) the customer qiao delivered for
 * a deleted OKKI customer with `merchant/stop` `{"data":[{merchantId, orgId}]}`, and starts it again
 * (`merchant/unstop`) when the OKKI customer comes back. `orgId` is the org the customer was created
 * in: the scheme's mapping of `createOrg`, applied to what OKKI's deleted list still shows.
 *
 * Both calls are idempotent (stopping a stopped customer changes nothing), so the transport repeats
 * them on a lost answer. A customer BIP no longer holds is `gone`: nothing to stop.
 */
@injectable()
export class MerchantStopOperation implements Remover {
  constructor(@inject(YonbipClient) private readonly client: YonbipClient) {}

  remove(ctx: RemoveContext): Promise<{ outcome: RemoveOutcome }> {
    return this.call(STOP_API, 'stopped', ctx);
  }

  restore(ctx: RemoveContext): Promise<{ outcome: RemoveOutcome }> {
    return this.call(UNSTOP_API, 'started', ctx);
  }

  private async call(api: string, done: RemoveOutcome, ctx: RemoveContext): Promise<{ outcome: RemoveOutcome }> {
    const orgId = ctx.payload?.createOrg;
    if (typeof orgId !== 'string' || orgId === '') {
      throw new RecordError(
        `${YONBIP_LABEL} ${api}: customer ${ctx.knownId} (OKKI ${ctx.key}): no orgId: the scheme's mapping gave no createOrg for the deleted record; map createOrg as a constant`,
        { system: YONBIP_SYSTEM, reason: 'yonbip.input' },
      );
    }
    const answer = await this.client.post<StopAnswer | null>(api, { data: [{ merchantId: ctx.knownId, orgId }] }, { idempotent: true, signal: ctx.signal });
    if (!answer?.failCount) return { outcome: done };
    const message = (answer.messages ?? []).map(String).join('; ') || 'refused';
    if (/不存在|已删除/.test(message)) return { outcome: 'gone' };
    throw new RecordError(`${YONBIP_LABEL} ${api}: customer ${ctx.knownId} (OKKI ${ctx.key}): ${message}`, { system: YONBIP_SYSTEM, reason: 'yonbip.stop_refused' });
  }
}
