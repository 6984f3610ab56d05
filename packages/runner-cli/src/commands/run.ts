import { Args, Flags } from '@oclif/core';
import { dryRunScheme, runLoadedScheme, wireScheme, type AnyStateStore, type LoadedScheme, type RunReport } from '@qiao/core';
import { QiaoCommand } from '../lib/base-command.js';
import { diagnoseFor } from '../lib/diagnose.js';
import { loadSchemeForCli } from '../lib/load.js';
import { err, printJson, stderrLogger } from '../lib/output.js';
import { progressReporter } from '../lib/progress.js';
import { CANCELLED_EXIT, exitCodeForReport, renderReport } from '../lib/render-report.js';
import { openState, stateFlags } from '../lib/state.js';

export default class Run extends QiaoCommand {
  static override summary = 'Run a scheme once: read, map and write, resuming what an earlier run left queued.';
  static override description = `Exit codes: 0 every record delivered; 1 the run finished but some records are dead letters; 2 invalid input (scheme, flags) or the scheme is already running; 3 fatal (credentials refused, a system unreachable after retries).
Ctrl-C (SIGINT) or SIGTERM cancels the run: reading stops, the writes in flight finish, the rest stays queued for the next run; the report (status cancelled) is printed and the exit code is 130 (SIGINT) or 143 (SIGTERM). A second Ctrl-C quits at once; the next run recovers what was in flight.
With --json, stdout holds exactly one JSON object, the run report; logs and progress go to stderr.`;
  static override examples = [
    '<%= config.bin %> run okki-to-yonbip.scheme.yaml',
    '<%= config.bin %> run okki-to-yonbip.scheme.yaml --json > report.json',
    '<%= config.bin %> run scheme.yaml --dry-run --limit 20',
  ];
  static override args = { scheme: Args.string({ description: 'scheme file (YAML or JSON)', required: true }) };
  static override flags = {
    json: Flags.boolean({ description: 'print the run report as one JSON object on stdout' }),
    'dry-run': Flags.boolean({ description: 'read and map without writing anything or moving state' }),
    limit: Flags.integer({ description: 'read at most N records (the cursor does not move)', min: 1 }),
    ...stateFlags(),
    full: Flags.boolean({ description: 'ignore the cursor and re-read everything (unchanged records are still skipped)' }),
    wait: Flags.boolean({ description: 'wait for a running run of the same scheme instead of refusing' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress or logs on stderr' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Run);
    const loaded = await loadSchemeForCli(args.scheme, { quiet: flags.quiet });
    const logger = flags.quiet ? undefined : stderrLogger(flags.debug);
    const store = await openState(flags);
    const controller = new AbortController();
    let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
    const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
      // A second signal quits at once: what was in flight is recovered (checked against the target) by the next run.
      if (stoppedBy) process.exit(CANCELLED_EXIT[signal]);
      stoppedBy = signal;
      err('stopping: reading stopped, finishing the writes in flight; queued writes are kept (Ctrl-C again to quit now)');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      let report: RunReport;
      if (flags['dry-run']) {
        report = await this.dryRun(loaded, store, flags.limit, controller.signal);
      } else {
        const progress = progressReporter({ quiet: flags.quiet });
        try {
          report = await runLoadedScheme(loaded, store, {
            ...(logger ? { logger } : {}),
            limit: flags.limit,
            full: flags.full,
            waitForLock: flags.wait,
            signal: controller.signal,
            onProgress: progress.update,
            hintFor: diagnoseFor(args.scheme),
          });
        } finally {
          progress.end();
        }
      }
      if (flags.json) {
        printJson(report);
        // the report says why the run stopped; stderr (the logs) says it too, for whoever watches them
        if (report.fatal && !flags.quiet) err(`stopped: ${report.fatal.message}${report.fatal.hint ? ` → ${report.fatal.hint}` : ''}`);
      } else err(renderReport(report, loaded.source.stream.cursor?.timezone));
      this.exit(exitCodeForReport(report, stoppedBy));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await store.close();
    }
  }

  /** What a run would do, through the run's own read and map stages; nothing is written, no state moves. */
  private async dryRun(loaded: LoadedScheme, store: AnyStateStore, limit: number | undefined, signal: AbortSignal): Promise<RunReport> {
    const report = await dryRunScheme(loaded, wireScheme(loaded), { store, signal, limit, hintFor: diagnoseFor(loaded.file) });
    err(`dry run: ${report.wouldWrite} records would be written; nothing was written and no state changed`);
    return report;
  }
}
