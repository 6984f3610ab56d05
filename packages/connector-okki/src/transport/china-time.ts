/**
 * OKKI reads and writes wall-clock times in China time (UTC+8, no daylight saving) as
 * `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`. These helpers convert without touching the machine's
 * timezone, so a sync run on a UTC server asks for the same window as one run in Shanghai.
 */

const CHINA_OFFSET_MS = 8 * 3600_000;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Formats an instant as `YYYY-MM-DD HH:MM:SS` in UTC+8. */
export function formatChinaTime(epochMs: number): string {
  const d = new Date(epochMs + CHINA_OFFSET_MS);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** Formats an instant as `YYYY-MM-DD` in UTC+8. */
export function formatChinaDate(epochMs: number): string {
  return formatChinaTime(epochMs).slice(0, 10);
}

const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Parses `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD` as China time; an ISO 8601
 * string with an explicit offset or `Z` is taken as it says. Returns epoch ms, or `undefined` when
 * the text is not a date.
 * @param endOfDay a bare date means its last second (23:59:59) rather than midnight
 */
export function parseChinaTime(text: string, endOfDay = false): number | undefined {
  const t = text.trim();
  const m = WALL_CLOCK.exec(t);
  if (m) {
    const [, y, mo, d, h, mi, s] = m;
    const dateOnly = h === undefined;
    const ms = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      dateOnly ? (endOfDay ? 23 : 0) : Number(h),
      dateOnly ? (endOfDay ? 59 : 0) : Number(mi),
      dateOnly ? (endOfDay ? 59 : 0) : Number(s ?? 0),
    );
    const check = new Date(ms);
    // Reject 2024-02-31 and friends rather than rolling them over.
    if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return undefined;
    return ms - CHINA_OFFSET_MS;
  }
  if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
