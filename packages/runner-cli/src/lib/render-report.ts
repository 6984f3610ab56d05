import type { RunReport } from '@qiao/core';
import { color, formatCursor, formatDuration, formatTime } from './output.js';

/** A human rendering of a run report; `cursorTimezone`: the zone of the stream's cursor (its manifest's `cursor.timezone`). */
export function renderReport(r: RunReport, cursorTimezone?: string): string {
  const c = r.counts;
  const status =
    r.status === 'succeeded'
      ? color.green('succeeded')
      : r.status === 'partial' || r.status === 'cancelled'
        ? color.yellow(r.status)
        : color.red(r.status);
  const lines = [
    `${color.bold(`Run ${r.runId}`)} of ${r.scheme}: ${status} in ${formatDuration(r.durationMs)} (started ${formatTime(r.startedAt)})`,
    `  read ${c.read} · inserted ${c.inserted} · updated ${c.updated} · skipped ${c.skipped} · failed ${c.failed}` +
      (r.resumed ? ` · resumed ${r.resumed} queued from an earlier run` : ''),
  ];
  const d = r.deletions;
  if (d && (d.read || d.restored || d.stopped || d.failed)) {
    lines.push(
      `  deleted in the source: ${d.read} listed · ${d.reported} new reported · ${d.stopped} stopped · ${d.notDelivered} never delivered · ${d.failed} failed · ${d.restored} came back`,
    );
  }
  for (const t of r.throttling ?? []) {
    if (t.throttledMs === 0 && t.rateLimitedAnswers === 0) continue;
    const rate = t.ratePerSecond !== undefined ? ` · ended at ${formatRate(t.ratePerSecond)}${t.limitPerSecond !== undefined ? ` of ${formatRate(t.limitPerSecond)}` : ''}` : '';
    lines.push(
      `  ${color.yellow('throttled:')} ${t.connector} (${t.side}) held back ${formatDuration(t.throttledMs)}, ${Math.round(t.share * 100)}% of the run, by its rate limit · ${t.rateLimitedAnswers} rate-limit answers${rate}`,
    );
    if (t.ratePerSecond !== undefined && t.limitPerSecond !== undefined && t.ratePerSecond < t.limitPerSecond && t.rateLimitedAnswers > 0) {
      const perMinute = Math.max(1, Math.floor(t.ratePerSecond * 60));
      lines.push(`      ${color.dim(`→ its system allows less than the configured rate: set limits.requestsPerMinute: ${perMinute} on the ${t.side} connection to start there next time`)}`);
    }
  }
  if (r.cursor) lines.push(`  cursor: ${formatCursor(r.cursor, cursorTimezone)}`);
  for (const e of r.errors) {
    lines.push(`  ${color.red('✗')} ${e.count} × ${e.code}: ${e.message}`);
    if (e.hint) lines.push(`      ${color.dim('→ ' + e.hint)}`);
  }
  for (const s of r.skips ?? []) {
    lines.push(`  ${color.dim('-')} ${s.count} skipped × ${s.code}: ${s.message}`);
  }
  for (const w of r.warnings ?? []) {
    lines.push(`  ${color.yellow('!')} ${w.code}: ${w.message}`);
    if (w.hint) lines.push(`      ${color.dim('→ ' + w.hint)}`);
  }
  if (r.status === 'cancelled') {
    lines.push(`  ${color.yellow('cancelled:')} reading stopped and the writes in flight finished; what was read and not written stays queued`);
    lines.push(`      ${color.dim(`→ run \`qiao run\` again to deliver the rest (nothing is written twice)`)}`);
  }
  if (r.fatal) {
    lines.push(`  ${color.red('stopped:')} ${r.fatal.message}`);
    if (r.fatal.hint) lines.push(`      ${color.dim('→ ' + r.fatal.hint)}`);
  }
  return lines.join('\n');
}

/** A rate in requests per second, to one decimal under 10 (`3.9/s`, `12/s`). */
function formatRate(perSecond: number): string {
  return `${perSecond < 10 ? Math.round(perSecond * 10) / 10 : Math.round(perSecond)}/s`;
}

/** 128 + the signal's number, as a shell reports a process a signal stopped. */
export const CANCELLED_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * The exit code of a run: 0 succeeded, 1 partial, 3 failed; a cancelled run exits as the shell expects
 * of a process stopped by a signal: 130 after SIGINT (Ctrl-C), 143 after SIGTERM.
 */
export function exitCodeForReport(r: RunReport, signal?: NodeJS.Signals): number {
  if (r.status === 'cancelled') return signal === 'SIGTERM' ? CANCELLED_EXIT.SIGTERM : CANCELLED_EXIT.SIGINT;
  return r.status === 'succeeded' ? 0 : r.status === 'partial' ? 1 : 3;
}

/** Columns of a run in the tables of `qiao runs` and `qiao overview`. */
export const RUN_COLUMNS = ['started (UTC)', 'status', 'read', 'inserted', 'updated', 'skipped', 'failed', 'duration'];

/** One run as a table row, in {@link RUN_COLUMNS} order. */
export function runRow(r: Pick<RunReport, 'startedAt' | 'status' | 'counts' | 'durationMs'>): string[] {
  return [
    r.startedAt.replace('T', ' ').slice(0, 19),
    r.status,
    String(r.counts.read),
    String(r.counts.inserted),
    String(r.counts.updated),
    String(r.counts.skipped),
    String(r.counts.failed),
    // a running run has no duration yet: how long it has been going
    r.status === 'running' ? `${formatDuration(Math.max(0, Date.now() - Date.parse(r.startedAt)))} so far` : formatDuration(r.durationMs),
  ];
}
