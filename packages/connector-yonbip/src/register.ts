import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { ConnectionCheckToken, ConnectionToken, removerToken, targetToken, type ConnectorPlugin } from '@qiao/core';
import { YonbipConnectionCheck } from './check.js';
import { diagnoses } from './diagnoses.js';
import { manifest } from './manifest.js';
import { MERCHANT_BATCH_SAVE, MerchantBatchSaveOperation } from './operations/merchant-batch-save.operation.js';
import { MERCHANT_NEWINSERT, MerchantNewinsertOperation } from './operations/merchant-newinsert.operation.js';
import { MERCHANT_SAVE, MerchantSaveOperation } from './operations/merchant-save.operation.js';
import { MerchantStopOperation } from './operations/merchant-stop.operation.js';
import { YonbipClient } from './transport/yonbip-client.js';

/**
 * Registers the YonBIP transport (one per container, i.e. per connection), the merchant.save target
 * and its remover (merchant/stop, for `onDelete: stop`), and the connection check in a child container that already holds `ConnectionToken`.
 */
export function register(container: DependencyContainer): void {
  container.register(YonbipClient, {
    useFactory: instanceCachingFactory((c) => new YonbipClient(c.resolve(ConnectionToken))),
  });
  // merchant.save follows the connection's endpoint set (`api: v2 | classic`, YONBIP_API in the template).
  container.register(targetToken(MERCHANT_SAVE), {
    useFactory: (c) => (apiOf(c.resolve(YonbipClient)) === 'v2' ? c.resolve(MerchantBatchSaveOperation) : c.resolve(MerchantSaveOperation)),
  });
  container.register(targetToken(MERCHANT_BATCH_SAVE), { useClass: MerchantBatchSaveOperation });
  container.register(targetToken(MERCHANT_NEWINSERT), { useClass: MerchantNewinsertOperation });
  // merchant/stop and unstop serve every customer operation (the V2 catalogue lists no other stop API).
  for (const op of [MERCHANT_SAVE, MERCHANT_BATCH_SAVE, MERCHANT_NEWINSERT]) container.register(removerToken(op), { useClass: MerchantStopOperation });
  container.register(ConnectionCheckToken, { useClass: YonbipConnectionCheck });
}

/** The connection's endpoint set; an incomplete connection block fails on the first call instead, as v2 (the default). */
function apiOf(client: YonbipClient): 'v2' | 'classic' {
  try {
    return client.connection.api;
  } catch {
    return 'v2';
  }
}

/** The 用友 YonBIP connector plugin. */
export const plugin: ConnectorPlugin = { manifest, register, diagnoses };
