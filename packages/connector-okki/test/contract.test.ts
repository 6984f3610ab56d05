import { describeConnectorContract } from '@qiao/core/testing/vitest';
import plugin from '@qiao/connector-okki';
import { startOkkiSandbox } from '@qiao/connector-okki/sandbox';
import { collect, readContext, wire } from './helpers.js';

// Sample records come from real reads of the simulator: list rows, merged details, deleted customers
// and a customer deleted between list and detail, so the record schema is checked against all of them.
const sandbox = await startOkkiSandbox({ customers: 80, removedCustomers: 5, seed: 42 });
let samples: unknown[];
try {
  const victim = String(sandbox.companies()[3]!.company_id);
  sandbox.onRequest = (r) => {
    if (r.path === '/v1/company/info' && r.query.company_id === victim) sandbox.deleteCompany(victim);
  };
  const { stream } = wire(sandbox);
  const detailed = await collect(stream, readContext({ params: { count: 40 }, detail: true }));
  const listed = await collect(stream, readContext({ params: { count: 40 } }));
  const removed = await collect(stream, readContext({ params: { removed: 1 }, detail: false }));
  samples = [...detailed, ...listed, ...removed].map((r) => r.data);
} finally {
  await sandbox.stop();
}

describeConnectorContract(plugin, {
  connection: { baseUrl: 'http://127.0.0.1:9', clientId: 'qiao-demo-client', clientSecret: 'qiao-demo-secret' },
  sampleRecords: { company: samples },
});
