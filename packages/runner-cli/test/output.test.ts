import { describe, expect, it } from 'vitest';
import { createLogger } from '@qiao/core';
import { table } from '../src/lib/output.js';

/** Terminal columns of a string, measured here independently of the table library. */
function columns(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ? 2 : 1;
  }
  return w;
}

describe('CLI tables', () => {
  it('line up Chinese customer names: every row has the same display width, columns start at the same place', () => {
    const rows = [
      ['OKKI-1001', '上海桥梁有限公司', 'inserted'],
      ['OKKI-1002', 'Acme Trading Ltd', 'updated'],
      ['OKKI-1003', '深圳市前海（国际）贸易', 'skipped'],
      ['OKKI-12', '', 'dead'],
    ];
    const text = table(['key', '客户名称 name', 'status'], rows);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[1]).toMatch(/^─+ {2}─+ {2}─+$/);
    const widths = lines.map(columns);
    expect(new Set(widths).size, text).toBe(1);
    // the third column starts at the same display column on every row
    const statusAt = (line: string, status: string) => columns(line.slice(0, line.indexOf(status)));
    const starts = rows.map((r, i) => statusAt(lines[i + 2]!, r[2]!));
    expect(new Set(starts).size, text).toBe(1);
    expect(starts[0]).toBe(columns('OKKI-1001  深圳市前海（国际）贸易  '));
  });
});

describe('the pino logger', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, destination: { write: (s: string) => lines.push(s) } };
  };

  it('removes secrets from messages and fields, in raw, URL-encoded and JSON-escaped forms', () => {
    const secret = 'app-sec/ret "42"+x';
    const c = capture();
    const log = createLogger({ level: 'debug', secrets: [secret], destination: c.destination, format: 'json' });
    log.info(`token call with ${secret}`, { url: `https://bip.example/token?appSecret=${encodeURIComponent(secret)}`, body: { nested: [secret] } });
    log.debug('debug too', { appSecret: 'not-a-known-secret' });
    const all = c.lines.join('');
    expect(all).not.toContain(secret);
    expect(all).not.toContain(encodeURIComponent(secret));
    expect(all).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(all).not.toContain('not-a-known-secret'); // a secret field by name
    const first = JSON.parse(c.lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', msg: 'token call with ***', body: { nested: ['***'] } });
    expect(first.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('honours secrets learnt after it was made, and writes compact text lines by default', () => {
    const secrets: string[] = [];
    const c = capture();
    const log = createLogger({ secrets, destination: c.destination });
    secrets.push('late-secret-123');
    log.warn('refused late-secret-123', { tries: 3 });
    log.debug('hidden below info');
    expect(c.lines).toHaveLength(1);
    expect(c.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ warn {2}refused \*\*\* \{"tries":3\}\n$/);
  });
});
