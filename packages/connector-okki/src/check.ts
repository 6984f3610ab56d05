import { inject, injectable } from 'tsyringe';
import type { ConnectionCheck } from '@qiao/core';
import { OkkiClient, OkkiClientToken } from './transport/okki-client.js';

/**
 * `qiao check` for an OKKI connection: fetches a token and lists one company. Resolves with a
 * one-line summary; rejects with `ConnectorAuthError` (credentials or scope refused) or
 * `RetryableError` (OKKI unreachable or failing).
 */
@injectable()
export class OkkiConnectionCheck implements ConnectionCheck {
  constructor(@inject(OkkiClientToken) private readonly client: OkkiClient) {}

  async check(signal?: AbortSignal): Promise<string> {
    await this.client.token();
    const page = await this.client.listCompanies({ start_index: 1, count: 1 }, signal);
    const { clientId, baseUrl } = this.client.config;
    return `authenticated as client ${clientId} at ${baseUrl}; ${page.totalItem} customers visible`;
  }
}
