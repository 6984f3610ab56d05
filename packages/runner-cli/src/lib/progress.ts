import type { Progress } from '@qiao/core';
import { err, formatDuration } from './output.js';

/**
 * Shows a run's progress on stderr: one updating line on a terminal, a plain log line every few
 * seconds otherwise.
 */
export function progressReporter(options: { quiet?: boolean } = {}): { update: (p: Progress) => void; end: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let lastPlain = 0;
  let drawn = false;
  const text = (p: Progress) => {
    const written = p.inserted + p.updated;
    const parts = [
      `read ${p.read}${p.total !== undefined ? `/${p.total}` : ''}`,
      `written ${written} (${p.inserted} new, ${p.updated} updated)`,
      `skipped ${p.skipped}`,
      `failed ${p.failed}`,
      `queued ${p.queued}`,
      `${p.ratePerSecond.toFixed(0)}/s`,
    ];
    if (p.etaMs !== undefined && p.phase !== 'done') parts.push(`ETA ${formatDuration(Math.round(p.etaMs))}`);
    return parts.join(' · ');
  };
  return {
    update(p) {
      if (options.quiet) return;
      if (tty) {
        process.stderr.write(`\r\x1b[K${text(p)}`);
        drawn = true;
      } else if (p.phase === 'done' || Date.now() - lastPlain >= 2000) {
        lastPlain = Date.now();
        err(`progress: ${text(p)}`);
      }
    },
    end() {
      if (tty && drawn) process.stderr.write('\n');
    },
  };
}
