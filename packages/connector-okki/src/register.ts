import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { ConnectionCheckToken, ConnectionToken, sourceToken, type ConnectorPlugin } from '@qiao/core';
import { OkkiConnectionCheck } from './check.js';
import { diagnoses } from './diagnoses.js';
import { manifest } from './manifest.js';
import { COMPANY_STREAM, CompanyStream } from './streams/company.stream.js';
import { OkkiClient, OkkiClientToken } from './transport/okki-client.js';

/**
 * Registers the OKKI connector in a child container that already holds `ConnectionToken`:
 * one {@link OkkiClient} per container (one token cache, one limiter), the `company` source, and the
 * connection check.
 */
export function register(container: DependencyContainer): void {
  container.register(OkkiClientToken, {
    useFactory: instanceCachingFactory((c) => new OkkiClient(c.resolve(ConnectionToken))),
  });
  container.register(sourceToken(COMPANY_STREAM), { useClass: CompanyStream });
  container.register(ConnectionCheckToken, { useClass: OkkiConnectionCheck });
}

/** The connector plugin: 小满 OKKI CRM as a source. */
export const plugin: ConnectorPlugin = { manifest, register, diagnoses };
