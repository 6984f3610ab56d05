import type { Progress } from '@qiao/core';
import cliProgress from 'cli-progress';
import { err, formatTime } from './output.js';

/**
 * A progress event, with the time the run's requests waited for the systems' rate limits when the
 * executor says it (`throttledMs`: the limiters' `stats.throttledMs`); absent, no throttle is shown.
 */
export type ProgressEvent = Progress & { throttledMs?: number | undefined };

/** Records finished: written, unchanged, skipped or dead. */
const finishedOf = (p: Progress) => p.inserted + p.updated + p.skipped + p.failed;

const PHASES: Record<Progress['phase'], string> = { resume: 'resuming', read: 'reading', write: 'writing', done: 'done' };

/** A short duration for the progress line: `850ms`, `4.2s`, `42s`, `1m32s`, `2h05m`. */
export function shortDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const sec = ms / 1000;
  if (sec < 10) return `${sec.toFixed(1)}s`;
  if (sec < 60) return `${Math.round(sec)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m${String(Math.round(sec - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const rate = (p: Progress) => `${p.ratePerSecond >= 10 || p.ratePerSecond === 0 ? p.ratePerSecond.toFixed(0) : p.ratePerSecond.toFixed(1)}/s`;

/**
 * The parts of a progress line, most important first: what fits the width is shown, the rest is left
 * out from the end (a bar line never wraps: a wrapped line is left behind at each redraw).
 */
function parts(p: ProgressEvent): string[] {
  const finished = finishedOf(p);
  const out = [p.total !== undefined ? `${finished}/${p.total}` : `${finished} done`];
  if (p.failed) out.push(`${p.failed} failed`);
  out.push(rate(p));
  if (p.etaMs !== undefined && p.phase !== 'done') out.push(`ETA ${shortDuration(p.etaMs)}`);
  const throttledMs = p.throttledMs ?? (p.throttling ?? []).reduce((sum, t) => sum + t.throttledMs, 0);
  const now = (p.throttling ?? []).some((t) => t.throttled);
  if (throttledMs || now) out.push(`${now ? 'throttled now, ' : 'throttled '}${shortDuration(throttledMs)}`);
  out.push(`${p.inserted} new · ${p.updated} updated · ${p.skipped} skipped`);
  if (p.queued) out.push(`${p.queued} queued`);
  out.push(`read ${p.read}`);
  out.push(PHASES[p.phase]);
  return out;
}

/**
 * One terminal line of progress, at most `width - 1` columns (the last column would wrap on some
 * terminals): a bar and a percentage when the total is known, then the counts, rate, ETA and the time
 * spent throttled, as many as fit.
 */
export function progressLine(p: ProgressEvent, width: number): string {
  const max = Math.max(20, width - 1);
  const pct = p.total ? Math.min(100, Math.floor((finishedOf(p) / p.total) * 100)) : undefined;
  const head = pct !== undefined ? `${String(pct).padStart(3)}% ` : '';
  const all = parts(p);
  const minBar = pct !== undefined ? 10 : 0;
  let shown = all.length;
  const text = (n: number) => all.slice(0, n).join(' · ');
  // the bar takes what the text leaves, between 10 and 30 columns
  while (shown > 1 && head.length + (minBar ? minBar + 3 : 0) + text(shown).length > max) shown--;
  let line = text(shown);
  if (pct !== undefined) {
    const barWidth = Math.max(minBar, Math.min(30, max - head.length - 3 - line.length));
    const full = Math.round((barWidth * pct) / 100);
    line = `${head}[${'█'.repeat(full)}${'░'.repeat(barWidth - full)}] ${line}`;
  }
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

/** A plain progress line for a log or a pipe: every part, the time labelled. */
export function plainProgressLine(p: ProgressEvent, now = Date.now()): string {
  const pct = p.total ? ` ${Math.min(100, Math.floor((finishedOf(p) / p.total) * 100))}%` : '';
  return `progress ${formatTime(now)}:${pct} ${parts(p).join(' · ')}`;
}

/**
 * Shows a run's progress on stderr: on a terminal a cli-progress bar redrawn in place, fitted to the
 * terminal's width at each redraw (so nothing is left behind when the window is narrow); lines written
 * to stderr meanwhile (logs, "stopping…") clear the bar and it is drawn again under them. Not on a
 * terminal (a pipe, a log file, CI): a plain line every 2 seconds, and the last one.
 */
export function progressReporter(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): { update: (p: ProgressEvent) => void; end: () => void } {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { update: () => undefined, end: () => undefined };
  if (!stream.isTTY) {
    let lastPlain = 0;
    return {
      update(p) {
        if (p.phase === 'done' || Date.now() - lastPlain >= 2000) {
          lastPlain = Date.now();
          err(plainProgressLine(p));
        }
      },
      end: () => undefined,
    };
  }

  const original = stream.write;
  const write = original.bind(stream) as (chunk: string) => boolean;
  // what cli-progress draws on: the terminal itself, bypassing the interception below
  const terminal = {
    isTTY: true,
    get columns() {
      return stream.columns || 80;
    },
    // cli-progress saves the cursor at start and restores it at stop: with lines written under the
    // bar meanwhile, that would jump back up over them; the bar is one line, nothing needs restoring
    write: (s: string) => (s === '\x1b7' || s === '\x1b8' ? true : write(s)),
  } as unknown as NodeJS.WriteStream;
  let last: ProgressEvent | undefined;
  const bar = new cliProgress.SingleBar({
    stream: terminal,
    format: () => (last ? progressLine(last, stream.columns || 80) : ''),
    fps: 10,
    // the line is fitted to the width at each redraw; a wrapped line would be left behind
    // (linewrap: true only keeps cli-progress from turning the terminal's autowrap off and on)
    linewrap: true,
    // redraw even when unchanged: after a log line the bar is drawn again under it
    forceRedraw: true,
    hideCursor: false,
    clearOnComplete: false,
    stopOnComplete: false,
    gracefulExit: false,
  });
  let started = false;
  // Another line written to stderr while the bar is shown: the bar line is cleared first, then drawn again.
  const intercept = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (!started) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    write('\r\x1b[K');
    const r = (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    bar.render();
    return r;
  }) as typeof stream.write;
  return {
    update(p) {
      last = p;
      const value = finishedOf(p);
      if (!started) {
        started = true;
        stream.write = intercept;
        bar.start(p.total ?? 0, value);
      } else {
        if (p.total !== undefined) bar.setTotal(p.total);
        bar.update(value);
      }
      if (p.phase === 'done') bar.render();
    },
    end() {
      // also called when the run failed: the bar's timer must not keep the process alive
      if (!started) return;
      bar.stop();
      started = false;
      stream.write = original;
    },
  };
}
