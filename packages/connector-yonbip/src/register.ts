import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { ConnectionCheckToken, ConnectionToken, removerToken, targetToken, type ConnectorPlugin } from '@qiao/core';
import { YonbipConnectionCheck } from './check.js';
import { diagnoses } from './diagnoses.js';
import { manifest } from './manifest.js';
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
  container.register(targetToken(MERCHANT_SAVE), { useClass: MerchantSaveOperation });
  container.register(removerToken(MERCHANT_SAVE), { useClass: MerchantStopOperation });
  container.register(ConnectionCheckToken, { useClass: YonbipConnectionCheck });
}

/** The 用友 YonBIP connector plugin. */
export const plugin: ConnectorPlugin = { manifest, register, diagnoses };
