import { Args, Flags } from '@oclif/core';
import { runLoadedScheme, InputError, type AnyStateStore } from '@qiao/core';
import { QiaoCommand } from '../../lib/base-command.js';
import { diagnoseFor } from '../../lib/diagnose.js';
import { loadSchemeForCli } from '../../lib/load.js';
import { err, printJson, stderrLogger } from '../../lib/output.js';
import { progressReporter } from '../../lib/progress.js';
import { exitCodeForReport, renderReport } from '../../lib/render-report.js';
import { schemeIdOf } from '../../lib/scheme-id.js';
import { openState, stateFlags } from '../../lib/state.js';

export default class QueueRetry extends QiaoCommand {
  static override summary = 'Re-queue dead letters (重新排队): the next run delivers them, or at once with --run.';
  static override examples = [
    '<%= config.bin %> queue retry okki-to-yonbip.scheme.yaml --all',
    '<%= config.bin %> queue retry okki-to-yonbip.scheme.yaml --id 42 --run',
  ];
  static override args = { scheme: Args.string({ description: 'scheme file (or scheme id without --run)', required: true }) };
  static override flags = {
    all: Flags.boolean({ description: 'every dead letter of the scheme', exclusive: ['id'] }),
    id: Flags.integer({ description: 'one dead letter, by queue id (see `qiao queue --status dead`)', multiple: true }),
    run: Flags.boolean({ description: 'deliver the re-queued items now (needs the scheme file)' }),
    ...stateFlags(),
    json: Flags.boolean({ description: 'print the result (and the run report with --run) as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(QueueRetry);
    if (!flags.all && !flags.id?.length) {
      throw new InputError([{ file: 'flags', pointer: '', expected: '--all or --id ID', found: 'neither', hint: 'see `qiao queue <scheme> --status dead` for ids' }]);
    }
    const loaded = flags.run ? await loadSchemeForCli(args.scheme) : undefined;
    const scheme = loaded?.scheme.id ?? (await schemeIdOf(args.scheme));
    const store = await openState(flags);
    try {
      if (!flags.all && flags.id?.length) await this.checkIds(store, scheme, flags.id, args.scheme);
      const requeued = await store.requeueDead(scheme, flags.all ? undefined : flags.id);
      if (!flags.json) err(`re-queued ${requeued} dead letter(s) of ${scheme}${flags.run ? '' : '; the next `qiao run` delivers them'}`);
      if (!loaded) {
        if (flags.json) printJson({ scheme, requeued });
        return;
      }
      const progress = progressReporter({ quiet: flags.json });
      const report = await runLoadedScheme(loaded, store, {
        drainOnly: true,
        logger: stderrLogger(flags.debug),
        onProgress: progress.update,
        hintFor: diagnoseFor(args.scheme),
      }).finally(progress.end);
      if (flags.json) printJson({ scheme, requeued, report });
      else err(renderReport(report));
      this.exit(exitCodeForReport(report));
    } finally {
      await store.close();
    }
  }

  /** Every id given must be a dead letter of the scheme; otherwise nothing is re-queued (exit 2). */
  private async checkIds(store: AnyStateStore, scheme: string, ids: number[], given: string): Promise<void> {
    const dead = (await store.counts(scheme)).dead;
    const known = new Set(dead ? (await store.list(scheme, { status: 'dead', limit: dead })).map((i) => i.id) : []);
    const unknown = [...new Set(ids)].filter((id) => !known.has(id));
    if (!unknown.length) return;
    throw new InputError([
      {
        file: 'flag --id',
        pointer: '',
        expected: `the queue id of a dead letter of ${scheme}${dead ? '' : ' (it has none)'}`,
        found: `${unknown.join(', ')}: no such dead letter`,
        hint: `nothing was re-queued; see \`qiao queue ${given} --status dead\` for the ids`,
      },
    ]);
  }
}
