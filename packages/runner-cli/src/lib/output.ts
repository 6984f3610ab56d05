import { createLogger, type Logger } from '@qiao/core';
import Table from 'cli-table3';
import { knownSecrets } from './secrets.js';

/** Writes a line to stderr (logs, progress and messages: stdout is kept for data). */
export function err(line = ''): void {
  process.stderr.write(line + '\n');
}

/** Writes a line of data to stdout. */
export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

/** Prints one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

const useColor = () => process.stderr.isTTY && !process.env.NO_COLOR;
export const color = {
  red: (s: string) => (useColor() ? `\x1b[31m${s}\x1b[0m` : s),
  green: (s: string) => (useColor() ? `\x1b[32m${s}\x1b[0m` : s),
  yellow: (s: string) => (useColor() ? `\x1b[33m${s}\x1b[0m` : s),
  dim: (s: string) => (useColor() ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (useColor() ? `\x1b[1m${s}\x1b[0m` : s),
};

/**
 * The CLI's logger: pino, writing to stderr; debug lines only with --debug. Every line has the secrets
 * of the schemes loaded so far removed. `QIAO_LOG_FORMAT=json` gives pino's JSON lines instead of the
 * compact text lines.
 */
export function stderrLogger(debug: boolean): Logger {
  return createLogger({
    level: debug ? 'debug' : 'info',
    secrets: knownSecrets,
    format: process.env.QIAO_LOG_FORMAT === 'json' ? 'json' : 'text',
  });
}

// A table with no borders: a header, a rule under it, columns two spaces apart. cli-table3 measures
// cells with string-width, so Chinese names (two columns each) line up.
const PLAIN: Partial<Record<Table.CharName, string>> = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', right: '', 'right-mid': '',
  mid: '─', 'mid-mid': '  ', middle: '  ',
};

/** Renders rows as an aligned text table with a header rule (cli-table3). */
export function table(headers: string[], rows: string[][]): string {
  const t = new Table({ head: headers, chars: PLAIN, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true } });
  t.push(...rows.map((r) => headers.map((_h, i) => r[i] ?? '')));
  return t.toString();
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** A time as qiao shows it everywhere: UTC, labelled (`2026-12-05 08:19:57 UTC`). */
export function formatTime(iso: string | number | Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

/**
 * A cursor in the same labelled time zone as run times (UTC). A source's cursor is often its system's
 * local time without a zone (OKKI: `2026-12-05 16:19:57`, +08:00, the stream manifest's
 * `cursor.timezone`): shown in UTC, then as the source wrote it. A cursor that is not a time is shown as
 * it is.
 */
export function formatCursor(cursor: string | null | undefined, timezone?: string): string {
  if (!cursor) return '-';
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/.exec(cursor.trim());
  if (!m) return cursor;
  const zone = m[4] ?? timezone;
  if (!zone) return `${cursor} (the source's clock; its zone is in the scheme's connector manifest)`;
  const t = Date.parse(`${m[1]}T${m[2]}${m[3] ?? ''}${zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')}`);
  if (Number.isNaN(t)) return cursor;
  return m[4] === 'Z' ? formatTime(t) : `${formatTime(t)} (source time ${cursor} ${zone})`;
}
