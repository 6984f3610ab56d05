import { Flags } from '@oclif/core';
import { QiaoCommand } from '../lib/base-command.js';
import { err, out, printJson } from '../lib/output.js';
import { startSimulators } from '../lib/simulators.js';

export default class Sandbox extends QiaoCommand {
  static override summary = 'Start the OKKI and YonBIP simulators on 127.0.0.1 with seeded customers, until Ctrl-C.';
  static override description = 'Prints the environment to export so that the okki-to-yonbip template runs against them. The simulators behave like the real APIs: OAuth2 client credentials and signed YonBIP tokens, paging, envelopes, error codes, 19-digit ids.';
  static override examples = ['<%= config.bin %> sandbox', '<%= config.bin %> sandbox --customers 1000 --port-okki 18080 --port-yonbip 18081'];
  static override flags = {
    customers: Flags.integer({ description: 'customers seeded in OKKI', default: 250, min: 0 }),
    'port-okki': Flags.integer({ description: 'port of the OKKI simulator', default: 18080, min: 0, max: 65535 }),
    'port-yonbip': Flags.integer({ description: 'port of the YonBIP simulator', default: 18081, min: 0, max: 65535 }),
    latency: Flags.integer({ description: 'added latency per request, in milliseconds', default: 0, min: 0 }),
    json: Flags.boolean({ description: 'print the environment as one JSON object' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Sandbox);
    const sims = await startSimulators({
      customers: flags.customers,
      okkiPort: flags['port-okki'],
      yonbipPort: flags['port-yonbip'],
      latencyMs: flags.latency,
    });
    if (flags.json) printJson(sims.env);
    else {
      err(`小满 OKKI simulator:  ${sims.okki.url} (${flags.customers} customers)`);
      err(`用友 YonBIP simulator: ${sims.yonbip.url}`);
      err('\nExport this, then run the template (qiao init okki.scheme.yaml --template okki-to-yonbip; qiao run okki.scheme.yaml):\n');
      for (const [k, v] of Object.entries(sims.env)) out(`export ${k}=${v}`);
      err('\nCtrl-C stops the simulators.');
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sims.stop();
    err('simulators stopped');
  }
}
