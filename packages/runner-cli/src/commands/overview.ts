import { Args, Flags } from '@oclif/core';
import { QiaoCommand } from '../lib/base-command.js';
import { color, formatCursor, formatTime, out, printJson, table } from '../lib/output.js';
import { schemeOverview, type SchemeOverview } from '../lib/overview.js';
import { allConnectors } from '../lib/resolver.js';
import { RUN_COLUMNS, runRow } from '../lib/render-report.js';
import { cursorTimezoneOf, schemeIdOf } from '../lib/scheme-id.js';
import { stateFlags, withStateStore } from '../lib/state.js';

export default class Overview extends QiaoCommand {
  static override summary = 'The run overview (运行概况): recent runs, success rate, dead letters with a diagnosis, queue depth, cursor.';
  static override examples = ['<%= config.bin %> overview okki-to-yonbip.scheme.yaml', '<%= config.bin %> overview okki-to-yonbip.scheme.yaml --json'];
  static override args = { scheme: Args.string({ description: 'scheme file or scheme id', required: true }) };
  static override flags = {
    ...stateFlags(),
    json: Flags.boolean({ description: 'print as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Overview);
    const scheme = await schemeIdOf(args.scheme);
    const timezone = await cursorTimezoneOf(args.scheme);
    // named by id, the scheme's connectors are unknown: learn the diagnoses of every connector qiao ships
    await allConnectors();
    const o = await withStateStore(flags, (store) => schemeOverview(store, scheme), { readOnly: true });
    if (flags.json) printJson(o);
    else out(renderOverview(o, timezone));
  }
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

export function renderOverview(o: SchemeOverview, cursorTimezone?: string): string {
  const lines = [color.bold(`运行概况 Run overview — ${o.scheme}`)];
  lines.push(
    `status: ${o.status} · runs succeeded: ${pct(o.successRate)} · records delivered: ${pct(o.recordSuccessRate)} · cursor: ${formatCursor(o.cursor, cursorTimezone)}`,
  );
  lines.push(`queue: ${o.queue.pending} pending · ${o.queue['in-flight']} in flight · ${o.queue.done} done · ${o.queue.dead} dead`);
  if (o.runs.length) {
    lines.push('', 'Recent runs');
    lines.push(
      table(
        RUN_COLUMNS,
        o.runs.slice(0, 10).map(runRow),
      ),
    );
  } else lines.push('', 'no runs yet');
  if (o.deadLetters.length) {
    lines.push('', `Dead letters by error (${o.queue.dead})`);
    for (const d of o.deadLetters) {
      lines.push(`  ${d.count} × ${d.code}: ${d.message}`);
      if (d.diagnosis) lines.push(`      → ${d.diagnosis}`);
    }
  }
  const deleted = o.deletions.records.length;
  if (deleted) {
    const total = Object.values(o.deletions.counts).reduce((a, b) => a + (b ?? 0), 0);
    lines.push('', `Deleted in the source (${total}; ${o.deletions.sinceLastRun} since the last run)`);
    lines.push(
      table(
        ['key', 'name', 'deleted at', 'seen', 'status', ''],
        o.deletions.records.slice(0, 20).map((d) => [
          d.key,
          d.name ?? '-',
          d.deletedAt ?? '-',
          formatTime(d.seenAt),
          d.status,
          d.new ? 'new' : (d.message ?? ''),
        ]),
      ),
    );
    if (total > 20) lines.push(`  … and ${total - 20} more (--json lists 100)`);
    if (o.deletions.counts.reported) lines.push(color.dim('  → to stop these in the target, set target.onDelete: stop in the scheme'));
  }
  if (o.recentProblems.length) {
    lines.push('', 'Recent skips and stops');
    for (const d of o.recentProblems) {
      lines.push(`  ${d.count} × ${d.code}: ${d.message}`);
      if (d.diagnosis) lines.push(`      → ${d.diagnosis}`);
    }
  }
  return lines.join('\n');
}
