import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';

export interface Simulators {
  okki: OkkiSandbox;
  yonbip: YonbipSandbox;
  /** The environment the okki-to-yonbip template reads, pointing at the simulators. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface SimulatorOptions {
  customers?: number;
  okkiPort?: number;
  yonbipPort?: number;
  seed?: number;
  latencyMs?: number;
}

/** Starts the OKKI and YonBIP simulators on 127.0.0.1 with seeded customers. */
export async function startSimulators(o: SimulatorOptions = {}): Promise<Simulators> {
  const okki = await startOkkiSandbox({
    port: o.okkiPort ?? 0,
    customers: o.customers ?? 250,
    seed: o.seed ?? 1,
    ...(o.latencyMs ? { latencyMs: o.latencyMs } : {}),
  });
  let yonbip: YonbipSandbox;
  try {
    yonbip = await startYonbipSandbox({ port: o.yonbipPort ?? 0, ...(o.latencyMs ? { latencyMs: o.latencyMs } : {}) });
  } catch (e) {
    await okki.stop();
    throw e;
  }
  const env: Record<string, string> = {
    OKKI_BASE_URL: okki.url,
    OKKI_CLIENT_ID: okki.credentials.clientId,
    OKKI_CLIENT_SECRET: okki.credentials.clientSecret,
    YONBIP_TENANT_ID: yonbip.credentials.tenantId,
    YONBIP_DATA_CENTER_URL: yonbip.dataCenterUrl,
    YONBIP_APP_KEY: yonbip.credentials.appKey,
    YONBIP_APP_SECRET: yonbip.credentials.appSecret,
    // The simulated tenant's own org and customer class: the template has no defaults for them.
    YONBIP_CREATE_ORG: yonbip.orgId,
    YONBIP_CUSTOMER_CLASS: yonbip.customerClassId,
  };
  return {
    okki,
    yonbip,
    env,
    stop: async () => {
      await Promise.allSettled([okki.stop(), yonbip.stop()]);
    },
  };
}
