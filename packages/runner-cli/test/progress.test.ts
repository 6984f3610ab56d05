import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plainProgressLine, progressLine, progressReporter, shortDuration, type ProgressEvent } from '../src/lib/progress.js';
import { BIN, memoryScheme, tempDir, writeTemp } from './helpers.js';

const event = (o: Partial<ProgressEvent> = {}): ProgressEvent => ({
  phase: 'write',
  read: 1840,
  inserted: 1203,
  updated: 311,
  skipped: 97,
  failed: 12,
  queued: 229,
  total: 2500,
  ratePerSecond: 9.6,
  etaMs: 92_000,
  elapsedMs: 168_000,
  throttledMs: 41_500,
  ...o,
});

/** Columns a line takes on a terminal (the bar's block characters take one each). */
const columns = (s: string) => [...s].length;

describe('the progress line fits the terminal', () => {
  for (const width of [80, 120]) {
    it(`at ${width} columns: a bar, the percentage, counts, rate, ETA and throttled time, never wider than ${width - 1}`, () => {
      const line = progressLine(event(), width);
      expect(columns(line)).toBeLessThanOrEqual(width - 1);
      expect(line).toMatch(/^ 64% \[█+░+\] 1623\/2500 · 12 failed · 9\.6\/s · ETA 1m32s · throttled 42s/);
      // long counts and no total: still within the width
      const big = progressLine(event({ total: undefined, read: 123_456_789, inserted: 99_999_999, updated: 88_888_888, queued: 7_777_777 }), width);
      expect(columns(big)).toBeLessThanOrEqual(width - 1);
      expect(big).not.toContain('%');
    });
  }

  it("shows the run's throttling from the executor's progress events: time held back, and 'now' while held back", () => {
    const t = (throttledMs: number, throttled: boolean) => ({ side: 'target' as const, connector: 'yonbip', throttledMs, share: 0.3, rateLimitedAnswers: 3, throttled });
    const held = progressLine(event({ throttledMs: undefined, throttling: [t(11_600, true), { ...t(400, false), side: 'source' as const, connector: 'okki' }] }), 120);
    expect(held).toContain('throttled now, 12s');
    const past = progressLine(event({ throttledMs: undefined, throttling: [t(4_200, false)] }), 120);
    expect(past).toContain('throttled 4.2s');
    expect(past).not.toContain('now');
    expect(progressLine(event({ throttledMs: undefined, throttling: [t(0, false)] }), 120)).not.toContain('throttled');
  });

  it('gives the wider terminal more: a longer bar and more of the counts', () => {
    const narrow = progressLine(event(), 80);
    const wide = progressLine(event(), 120);
    expect(wide.length).toBeGreaterThan(narrow.length);
    expect(wide).toContain('1203 new · 311 updated · 97 skipped');
    expect(narrow).not.toContain('1203 new');
    // very narrow: what matters most is kept
    const tiny = progressLine(event(), 40);
    expect(columns(tiny)).toBeLessThanOrEqual(39);
    expect(tiny).toContain('1623/2500');
  });

  it('short durations', () => {
    expect([850, 4_200, 41_500, 92_000, 7_500_000].map(shortDuration)).toEqual(['850ms', '4.2s', '42s', '1m32s', '2h05m']);
  });

  it('no throttled part when nothing waited; no ETA once done', () => {
    expect(progressLine(event({ throttledMs: 0 }), 120)).not.toContain('throttled');
    expect(progressLine(event({ phase: 'done', etaMs: 0 }), 120)).not.toContain('ETA');
  });

  it('plain lines (no terminal) hold every part and the time, labelled UTC', () => {
    const line = plainProgressLine(event(), Date.parse('2026-12-05T08:00:00Z'));
    expect(line).toBe(
      'progress 2026-12-05 08:00:00 UTC: 64% 1623/2500 · 12 failed · 9.6/s · ETA 1m32s · throttled 42s · 1203 new · 311 updated · 97 skipped · 229 queued · read 1840 · writing',
    );
  });
});

/**
 * The terminal a pseudo-TTY shows: each redraw starts at column 1 (ESC[1G or \r) and clears the rest
 * (ESC[0K); returns every line drawn, escapes removed.
 */
function drawnLines(raw: string): string[] {
  return raw
    .split(/\x1b\[1G|\r|\n/)
    .map((s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''))
    .filter((s) => s.trim() !== '');
}

describe('on a terminal (pseudo-TTY, 80 columns)', () => {
  const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
  it.skipIf(!script)('draws the bar in place within 80 columns, then the report under it', () => {
    const dir = tempDir('qiao-pty-');
    const out = join(dir, 'typescript');
    // slow writes: several redraws
    const file = writeTemp(dir, 'slow.yaml', memoryScheme({ id: 'pty', count: 60, targetFile: join(dir, 't.jsonl'), writeDelayMs: 60 }));
    const cmd = `stty cols 80 rows 24; ${process.execPath} ${BIN} run ${file} --state ${join(dir, 'state')}`;
    const r = spawnSync(script!, ['-qfec', cmd, out], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const raw = readFileSync(out, 'utf8');
    const lines = drawnLines(raw).filter((l) => !/^Script (started|done)/.test(l));
    const bars = lines.filter((l) => /^\s*\d+% \[/.test(l));
    expect(bars.length).toBeGreaterThan(2);
    for (const l of bars) expect(columns(l)).toBeLessThanOrEqual(79);
    expect(bars.at(-1)).toMatch(/^100% \[█+\] 60\/60/);
    expect(lines.some((l) => /^Run .* of pty: succeeded/.test(l))).toBe(true);
    expect(raw).toContain('\x1b[0K'); // each redraw clears what the previous one left
    expect(raw).not.toMatch(/\x1b7|\x1b8/); // no cursor jumps back over lines written meanwhile
  }, 120_000);
});

describe('lines written while the bar is shown', () => {
  it('clear the bar, stay whole, and the bar is drawn again under them; the stream is given back at the end', () => {
    let written = '';
    const original = (chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    };
    const fake = { isTTY: true, columns: 80, write: original } as unknown as NodeJS.WriteStream;
    const progress = progressReporter({ stream: fake });
    progress.update(event({ phase: 'read', inserted: 0, updated: 0, skipped: 0, failed: 0, total: 100 }));
    expect(written).toMatch(/ {2}0% \[░+\] 0\/100/);
    written = '';
    fake.write('2026-12-05T08:00:00.000Z WARN  the system answered slowly\n');
    // cleared, the line whole, then the bar again
    expect(written).toMatch(/^\r\x1b\[K2026-12-05T08:00:00\.000Z WARN {2}the system answered slowly\n(\x1b\[1G)? {2}0% \[░+\] 0\/100/);
    progress.update(event({ phase: 'done', inserted: 100, updated: 0, skipped: 0, failed: 0, total: 100, etaMs: 0 }));
    progress.end();
    expect(written).toMatch(/100% \[█+\] 100\/100/);
    expect(fake.write).toBe(original);
    written = '';
    fake.write('after\n');
    expect(written).toBe('after\n');
  });
});
