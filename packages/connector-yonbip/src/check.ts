import { inject, injectable } from 'tsyringe';
import type { ConnectionCheck } from '@qiao/core';
import type { MerchantListPage } from './operations/merchant-save.operation.js';
import { YONBIP_LABEL, YonbipClient } from './transport/yonbip-client.js';

/**
 * Checks a YonBIP connection: gateway lookup (when configured by tenantId), a signed token, and one
 * cheap read (`merchant/list`, pageSize 1). Rejects with ConnectorAuthError whose hint names the
 * setting to check (YONBIP_TENANT_ID, YONBIP_APP_KEY, YONBIP_APP_SECRET, gatewayUrl/tokenUrl).
 */
@injectable()
export class YonbipConnectionCheck implements ConnectionCheck {
  constructor(@inject(YonbipClient) private readonly client: YonbipClient) {}

  async check(signal?: AbortSignal): Promise<string> {
    const { tenantId, gatewayUrl } = this.client.connection;
    const endpoints = await this.client.endpoints(signal);
    await this.client.token();
    const page = await this.client.post<MerchantListPage | null>(
      '/yonbip/digitalModel/merchant/list',
      { pageIndex: 1, pageSize: 1 },
      { idempotent: true, signal },
    );
    const via = gatewayUrl ? 'configured gateway' : `tenant ${tenantId} → gateway`;
    return `${YONBIP_LABEL}: ${via} ${endpoints.gatewayUrl}, token ok, ${page?.recordCount ?? 0} customer records visible`;
  }
}
