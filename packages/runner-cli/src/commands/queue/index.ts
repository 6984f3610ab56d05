import { Args, Flags } from '@oclif/core';
import { QiaoCommand } from '../../lib/base-command.js';
import { diagnoseFor } from '../../lib/diagnose.js';
import { formatTime, out, printJson, table } from '../../lib/output.js';
import { allConnectors } from '../../lib/resolver.js';
import { schemeIdOf } from '../../lib/scheme-id.js';
import { stateFlags, withStateStore } from '../../lib/state.js';

export default class Queue extends QiaoCommand {
  static override summary = "Show a scheme's write queue (写入队列): what waits, what failed and why.";
  static override examples = [
    '<%= config.bin %> queue okki-to-yonbip.scheme.yaml',
    '<%= config.bin %> queue okki-to-yonbip.scheme.yaml --status dead --json',
  ];
  static override args = { scheme: Args.string({ description: 'scheme file or scheme id', required: true }) };
  static override flags = {
    status: Flags.string({ description: 'only items with this status', options: ['pending', 'in-flight', 'done', 'dead'] }),
    limit: Flags.integer({ description: 'items to show', default: 50, min: 1 }),
    ...stateFlags(),
    json: Flags.boolean({ description: 'print as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Queue);
    const scheme = await schemeIdOf(args.scheme);
    // named by id, the scheme's connectors are unknown: learn the diagnoses of every connector qiao ships
    await allConnectors();
    await withStateStore(flags, async (store) => {
      const status = flags.status as 'pending' | 'in-flight' | 'done' | 'dead' | undefined;
      const counts = await store.counts(scheme);
      const items = await store.list(scheme, { ...(status ? { status } : {}), limit: flags.limit });
      if (flags.json) {
        return printJson({
          scheme,
          counts,
          // an item a run has in flight from its journal has no queue id yet (the store numbers it below 0)
          items: items.map((i) => ({ ...i, id: i.id < 0 ? null : i.id, source: undefined, diagnosis: i.lastErrorCode ? diagnoseFor(args.scheme)(i.lastErrorCode, i.lastErrorMessage ?? '') : undefined })),
        });
      }
      out(`Write queue of ${scheme}: ${counts.pending} pending · ${counts['in-flight']} in flight · ${counts.done} done · ${counts.dead} dead`);
      if (items.length === 0) return out('(no items' + (status ? ` with status ${status}` : '') + ')');
      out(
        table(
          ['id', 'key', 'status', 'attempts', 'error', 'updated'],
          items.map((i) => [
            i.id < 0 ? '-' : String(i.id),
            i.key,
            i.status,
            String(i.attempts),
            i.lastErrorCode ? `${i.lastErrorCode}: ${(i.lastErrorMessage ?? '').slice(0, 80)}` : '',
            formatTime(i.updatedAt),
          ]),
        ),
      );
      if (counts.dead) out(`\nRe-queue dead letters: qiao queue retry ${args.scheme} --all (or --id ID)`);
    }, { readOnly: true });
  }
}
