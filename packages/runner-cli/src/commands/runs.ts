import { Args, Flags } from '@oclif/core';
import { QiaoCommand } from '../lib/base-command.js';
import { out, printJson, table } from '../lib/output.js';
import { RUN_COLUMNS, runRow } from '../lib/render-report.js';
import { schemeIdOf } from '../lib/scheme-id.js';
import { stateFlags, withStateStore } from '../lib/state.js';

export default class Runs extends QiaoCommand {
  static override summary = "List a scheme's recent runs with their counts.";
  static override examples = ['<%= config.bin %> runs okki-to-yonbip.scheme.yaml', '<%= config.bin %> runs okki-company-to-yonbip-merchant --json'];
  static override args = { scheme: Args.string({ description: 'scheme file or scheme id', required: true }) };
  static override flags = {
    limit: Flags.integer({ description: 'runs to show', default: 20, min: 1 }),
    ...stateFlags(),
    json: Flags.boolean({ description: 'print the run reports as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Runs);
    const scheme = await schemeIdOf(args.scheme);
    await withStateStore(flags, async (store) => {
      const runs = await store.runs(scheme, flags.limit);
      if (flags.json) return printJson(runs);
      if (!runs.length) return out(`no runs of ${scheme} yet`);
      out(
        table(
          ['run', ...RUN_COLUMNS],
          runs.map((r) => [r.runId, ...runRow(r)]),
        ),
      );
    }, { readOnly: true });
  }
}
