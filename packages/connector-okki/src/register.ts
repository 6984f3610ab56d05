import { defineConnector, type ConnectorPlugin } from '@qiao/core';
import { OkkiConnectionCheck } from './check.js';
import { diagnoses } from './diagnoses.js';
import { manifest } from './manifest.js';
import { COMPANY_STREAM, CompanyStream } from './streams/company.stream.js';
import { OkkiClient, OkkiClientToken } from './transport/okki-client.js';

/**
 * 小满 OKKI CRM as a source, written with core's `defineConnector`: one {@link OkkiClient} per
 * connection (one token cache, one limiter), the `company` stream, and the connection check.
 */
export const plugin: ConnectorPlugin = defineConnector<OkkiClient>({
  manifest,
  connect: (conn) => new OkkiClient(conn),
  // tests and the stream's own class find the client under its token too
  clientToken: OkkiClientToken,
  streams: { [COMPANY_STREAM]: (conn) => new CompanyStream(conn.client, conn) },
  check: (conn, signal) => new OkkiConnectionCheck(conn.client).check(signal),
  diagnoses,
  testing: {
    // the kit (`qiao connectors test okki`) runs against the simulator, loaded only then
    setup: async () => {
      const { startOkkiSandbox } = await import('./sandbox/index.js');
      const sandbox = await startOkkiSandbox({ customers: 30, seed: 16 });
      return {
        connection: { baseUrl: sandbox.url, ...sandbox.credentials },
        streams: { [COMPANY_STREAM]: { params: {} } },
        close: () => sandbox.stop(),
      };
    },
  },
});

/** Registers the connector in a child container that already holds `ConnectionToken` (see `defineConnector`). */
export const register = plugin.register;
