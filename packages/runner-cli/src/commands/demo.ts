import { Flags } from '@oclif/core';
import { loadScheme, runLoadedScheme, SqliteStateStore, type RunReport } from '@qiao/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownSecrets, QiaoCommand } from '../lib/base-command.js';
import { diagnoseFor } from '../lib/diagnose.js';
import { color, err, printJson } from '../lib/output.js';
import { schemeOverview } from '../lib/overview.js';
import { progressReporter } from '../lib/progress.js';
import { connectorResolver } from '../lib/resolver.js';
import { renderReport } from '../lib/render-report.js';
import { startSimulators } from '../lib/simulators.js';
import { BUILTIN_TEMPLATES } from '../lib/templates.js';
import { renderOverview } from './overview.js';

export default class Demo extends QiaoCommand {
  static override summary = 'Run the okki-to-yonbip template end to end against the built-in simulators.';
  static override description =
    'Starts the OKKI and YonBIP simulators, runs the template once (every customer inserted into YonBIP), changes some customers in OKKI and adds some, runs again (only those are written: updates carry the exact 19-digit ids), and prints the run overview. Nothing leaves this machine.';
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --customers 1000 --json'];
  static override flags = {
    customers: Flags.integer({ description: 'customers seeded in the OKKI simulator', default: 300, min: 1 }),
    changes: Flags.integer({ description: 'customers changed in OKKI before the second run', default: 5, min: 0 }),
    additions: Flags.integer({ description: 'customers added in OKKI before the second run', default: 3, min: 0 }),
    state: Flags.string({ description: 'state directory (default: a new temporary one)' }),
    json: Flags.boolean({ description: 'print both run reports and the overview as one JSON object' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Demo);
    const say = (s: string) => (flags.json ? undefined : err(s));
    const sims = await startSimulators({ customers: flags.customers });
    const stateDir = flags.state ?? mkdtempSync(join(tmpdir(), 'qiao-demo-'));
    const store = new SqliteStateStore(stateDir);
    try {
      // The simulators take more than a real tenant's quota; the template's defaults (10/s) stay for real use.
      const env = {
        OKKI_REQUESTS_PER_SECOND: '200',
        OKKI_CONCURRENCY: '8',
        YONBIP_REQUESTS_PER_SECOND: '200',
        YONBIP_CONCURRENCY: '8',
        ...process.env,
        ...sims.env,
      };
      const file = join(BUILTIN_TEMPLATES, 'okki-to-yonbip.scheme.yaml');
      const loaded = await loadScheme(file, { resolver: connectorResolver, env });
      knownSecrets.push(...loaded.secrets);
      say(color.bold('qiao demo — 小满 OKKI → 用友 YonBIP on local simulators'));
      say(`  OKKI simulator ${sims.okki.url} with ${flags.customers} customers · YonBIP simulator ${sims.yonbip.url} · state ${stateDir}`);
      say(`  scheme: template okki-to-yonbip (${loaded.scheme.name ?? loaded.scheme.id})\n`);

      const run = async (title: string): Promise<RunReport> => {
        say(color.bold(title));
        const progress = progressReporter({ quiet: flags.json });
        const report = await runLoadedScheme(loaded, store, { onProgress: progress.update, hintFor: diagnoseFor(loaded.scheme.id) }).finally(progress.end);
        say(renderReport(report, loaded.source.stream.cursor?.timezone) + '\n');
        return report;
      };

      const first = await run(`1. First run: every OKKI customer becomes a YonBIP customer record`);
      const companies = sims.okki.companies();
      for (const c of companies.slice(0, flags.changes)) {
        sims.okki.updateCompany(String(c.company_id), { address: `${String(c.address ?? '')}（已搬迁）`, homepage: 'https://qiao.example/moved' });
      }
      for (let i = 0; i < flags.additions; i++) sims.okki.addCompany();
      say(`   … meanwhile in OKKI: ${flags.changes} customers changed, ${flags.additions} added\n`);
      const second = await run(`2. Second run: only what changed is read and written`);

      const overview = await schemeOverview(store, loaded.scheme.id, loaded.source.stream.id);
      const inBip = sims.yonbip.merchants().length;
      if (flags.json) {
        printJson({ stateDir, customersInYonbip: inBip, runs: [first, second], overview });
      } else {
        err(renderOverview(overview));
        err(`\nYonBIP simulator now holds ${inBip} customer records (OKKI has ${sims.okki.companies().length}).`);
        err(`Try it yourself: qiao sandbox, then qiao init my.scheme.yaml --template okki-to-yonbip`);
      }
      const ok = first.status === 'succeeded' && second.status === 'succeeded';
      this.exit(ok ? 0 : first.status === 'failed' || second.status === 'failed' ? 3 : 1);
    } finally {
      await store.close();
      await sims.stop();
    }
  }
}
