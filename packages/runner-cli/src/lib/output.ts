import type { Logger } from '@qiao/core';

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

/** A logger writing plain lines to stderr; debug lines only with --debug. */
export function stderrLogger(debug: boolean): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) => {
    const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
    err(`${new Date().toISOString()} ${level} ${message}${extra}`);
  };
  return {
    debug: (m, f) => (debug ? line('debug', m, f) : undefined),
    info: (m, f) => line('info ', m, f),
    warn: (m, f) => line('warn ', m, f),
    error: (m, f) => line('error', m, f),
  };
}

/** Display width of a string in a terminal (CJK characters take two columns). */
export function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ? 2 : 1;
  }
  return w;
}

function pad(s: string, n: number): string {
  return s + ' '.repeat(Math.max(0, n - width(s)));
}

/** Renders rows as an aligned text table with a header rule. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}
