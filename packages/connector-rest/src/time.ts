/**
 * Cursor times in a declared format and fixed offset, whatever the machine's timezone: tokens
 * `YYYY MM DD HH mm ss SSS`, or `iso`, `epoch_ms`, `epoch_s`.
 */
export interface TimeFormat {
  format: string;
  offsetMs: number;
}

export function offsetOf(timezone: string | undefined): number {
  if (!timezone || timezone === 'UTC' || timezone === 'Z') return 0;
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(timezone);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export function formatTime(epochMs: number, f: TimeFormat): string {
  if (f.format === 'epoch_ms') return String(epochMs);
  if (f.format === 'epoch_s') return String(Math.floor(epochMs / 1000));
  if (f.format === 'iso') return new Date(epochMs).toISOString();
  const d = new Date(epochMs + f.offsetMs);
  return f.format.replace(/YYYY|MM|DD|HH|mm|ss|SSS/g, (t) => {
    switch (t) {
      case 'YYYY':
        return pad(d.getUTCFullYear(), 4);
      case 'MM':
        return pad(d.getUTCMonth() + 1);
      case 'DD':
        return pad(d.getUTCDate());
      case 'HH':
        return pad(d.getUTCHours());
      case 'mm':
        return pad(d.getUTCMinutes());
      case 'ss':
        return pad(d.getUTCSeconds());
      default:
        return pad(d.getUTCMilliseconds(), 3);
    }
  });
}

/** Parses a time in the format (a date alone, without its time part, is accepted); `undefined` when it is not one. */
export function parseTime(text: string, f: TimeFormat): number | undefined {
  const t = text.trim();
  if (f.format === 'epoch_ms' || f.format === 'epoch_s') {
    if (!/^\d+$/.test(t)) return undefined;
    return Number(t) * (f.format === 'epoch_s' ? 1000 : 1);
  }
  if (f.format === 'iso') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const order: string[] = [];
  const source = f.format.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/YYYY|MM|DD|HH|mm|ss|SSS/g, (tok) => {
    order.push(tok);
    return tok === 'YYYY' ? '(\\d{4})' : tok === 'SSS' ? '(\\d{3})' : '(\\d{2})';
  });
  const m = new RegExp(`^${source}$`).exec(t) ?? dateOnly(t, f.format, order);
  if (!m) return undefined;
  const part = (tok: string): number => {
    const i = order.indexOf(tok);
    return i < 0 || m[i + 1] === undefined ? 0 : Number(m[i + 1]);
  };
  const y = part('YYYY');
  const mo = part('MM') || 1;
  const day = part('DD') || 1;
  const ms = Date.UTC(y, mo - 1, day, part('HH'), part('mm'), part('ss'), part('SSS'));
  const check = new Date(ms);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== day) return undefined;
  return ms - f.offsetMs;
}

function dateOnly(t: string, format: string, order: string[]): RegExpExecArray | null {
  if (!format.startsWith('YYYY-MM-DD') || order.slice(0, 3).join() !== 'YYYY,MM,DD') return null;
  return /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
}

/** `10m`, `8h`, `30s`, `500ms`, `2d`, or a number of milliseconds. */
export function durationMs(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return fallback;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}
