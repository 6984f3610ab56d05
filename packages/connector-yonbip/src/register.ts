import { defineConnector, type ConnectorPlugin } from '@qiao/core';
import { YonbipConnectionCheck } from './check.js';
import { diagnoses } from './diagnoses.js';
import { manifest } from './manifest.js';
import { MERCHANT_BATCH_SAVE, MerchantBatchSaveOperation } from './operations/merchant-batch-save.operation.js';
import { MERCHANT_NEWINSERT, MerchantNewinsertOperation } from './operations/merchant-newinsert.operation.js';
import { MERCHANT_SAVE, MerchantSaveOperation } from './operations/merchant-save.operation.js';
import { MerchantStopOperation } from './operations/merchant-stop.operation.js';
import { YonbipClient } from './transport/yonbip-client.js';

/**
 * 用友 YonBIP as a target, written with core's `defineConnector`: one {@link YonbipClient} per
 * connection, the merchant operations and merchant.save's remover (merchant/stop, for
 * `onDelete: stop`), and the connection check. The operation classes keep their own `@inject`
 * constructors and are resolved from the connection's container.
 */
export const plugin: ConnectorPlugin = defineConnector<YonbipClient>({
  manifest,
  connect: (conn) => new YonbipClient(conn),
  clientToken: YonbipClient,
  operations: {
    // merchant.save follows the connection's endpoint set (`api: v2 | classic`, YONBIP_API in the template).
    [MERCHANT_SAVE]: (conn) => (apiOf(conn.client) === 'v2' ? conn.resolve(MerchantBatchSaveOperation) : conn.resolve(MerchantSaveOperation)),
    [MERCHANT_BATCH_SAVE]: (conn) => conn.resolve(MerchantBatchSaveOperation),
    [MERCHANT_NEWINSERT]: (conn) => conn.resolve(MerchantNewinsertOperation),
  },
  // merchant/stop and unstop serve every customer operation (the V2 catalogue lists no other stop API).
  removers: {
    [MERCHANT_SAVE]: (conn) => conn.resolve(MerchantStopOperation),
    [MERCHANT_BATCH_SAVE]: (conn) => conn.resolve(MerchantStopOperation),
    [MERCHANT_NEWINSERT]: (conn) => conn.resolve(MerchantStopOperation),
  },
  check: (conn, signal) => conn.resolve(YonbipConnectionCheck).check(signal),
  diagnoses,
  testing: {
    // the kit (`qiao connectors test yonbip`) runs against the simulator, loaded only then
    setup: async () => {
      const { startYonbipSandbox, YONBIP_SANDBOX_ORG, YONBIP_SANDBOX_CUSTOMER_CLASS } = await import('./sandbox/index.js');
      const sandbox = await startYonbipSandbox({});
      const { tenantId, appKey, appSecret } = sandbox.credentials;
      const payload = (unique: string) => ({ code: `KIT${unique}`, name: { zh_CN: `测试客户${unique}` }, createOrg: YONBIP_SANDBOX_ORG, customerClass: YONBIP_SANDBOX_CUSTOMER_CLASS });
      return {
        connection: { tenantId, dataCenterUrl: sandbox.dataCenterUrl, appKey, appSecret },
        operations: { [MERCHANT_SAVE]: { payload }, [MERCHANT_BATCH_SAVE]: { payload }, [MERCHANT_NEWINSERT]: { payload } },
        close: () => sandbox.stop(),
      };
    },
  },
});

/** The connection's endpoint set; an incomplete connection block fails on the first call instead, as classic. */
function apiOf(client: YonbipClient): 'v2' | 'classic' {
  try {
    return client.connection.api;
  } catch {
    return 'classic';
  }
}

/** Registers the connector in a child container that already holds `ConnectionToken` (see `defineConnector`). */
export const register = plugin.register;
