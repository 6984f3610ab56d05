/**
 * Normalises what OKKI returns for a company (list row or detail) into the shape the manifest's
 * `record` schema declares. OKKI is loose about types; qiao is not:
 *
 * - **ids are strings.** `company_id`, `customer_id`, `create_user`, `last_edit_user`, `group_id`,
 *   `pool_id`, `status_id`, … arrive as numbers in one field and digit strings in the next
 *   (`create_user: 55280040` beside `last_edit_user: "55280038"`). `""` (no id) stays `""`.
 * - **`user_id` (the owners) is a list of strings.** The list API sends one id or `""`, the detail
 *   API an array (`[]` for the public pool); both become `string[]`.
 * - **numeric codes are numbers.** `archive_type`, `star`, `gender`, `main_customer_flag`, … may come
 *   as digit strings; `""` (unset) becomes `null`.
 * - **"never" dates are `null`.** `1970-01-01 00:00:00`, `1970-01-01`, `0000-00-00 …` anywhere, and
 *   `""` in a known date field, become `null` (the key is kept, so a mapping can test for it).
 * - **phones are `[area, number]` string pairs.** `tel` (also when sent as `{"0":…, "1":…}`) and
 *   every entry of a contact's `tel_list`.
 */

const ID_KEYS = new Set([
  'company_id',
  'customer_id',
  'create_user',
  'last_edit_user',
  'last_owner',
  'group_id',
  'pool_id',
  'main_lead_id',
  'status_id',
  'tag_id',
  'lead_id',
  // Inside `owner[]` and `last_owner_info` a `user_id` is one id; the top-level one is a list.
  'user_id',
]);

const NUMBER_KEYS = new Set([
  'archive_type',
  'star',
  'scale_id',
  'intention_level',
  'annual_procurement',
  'gender',
  'main_customer_flag',
  'post_grade',
  'release_count',
  'public_type',
  'origin',
]);

const DATE_KEYS = new Set([
  'order_time',
  'create_time',
  'update_time',
  'edit_time',
  'archive_time',
  'private_time',
  'public_time',
  'deal_time',
  'next_follow_up_time',
  'recent_follow_up_time',
  'next_move_to_public_date',
  'birth',
]);

const NEVER = /^(1970-01-01|0000-00-00)( 00:00:00)?$/;

/** JavaScript's white space and line terminators (what `trim()` removes). */
function isSpace(c: number): boolean {
  return c <= 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * Whether `s` is a "never" date, blanks around it allowed (`NEVER.test(s.trim())`), looking at its
 * length and ends first: most strings of a company cannot be one.
 */
function isNever(s: string): boolean {
  const n = s.length;
  if (n < 10) return false;
  const first = s.charCodeAt(0);
  if (isSpace(first) || isSpace(s.charCodeAt(n - 1))) return NEVER.test(s.trim());
  return (first === 0x31 || first === 0x30) && (n === 10 || n === 19) && NEVER.test(s);
}

/** Normalises one company (a list row, a detail, or the two merged). */
export function normalizeCompany(raw: Record<string, unknown>): Record<string, unknown> {
  return normalizeObject(raw, false);
}

/**
 * As {@link normalizeCompany}, but changes `raw` and the objects and arrays in it rather than copying
 * them: for a company the caller owns (just parsed), it saves a copy of every record.
 */
export function normalizeCompanyInPlace(raw: Record<string, unknown>): Record<string, unknown> {
  return normalizeObject(raw, true);
}

function normalizeObject(raw: Record<string, unknown>, inPlace: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = inPlace ? raw : {};
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    const value = raw[key];
    const v = key === 'user_id' ? toIdList(value) : normalizeEntry(key, value, inPlace);
    // in place, most values stay as they are: no store for them
    if (!inPlace || v !== value) out[key] = v;
  }
  return out;
}

/** An id as a string: numbers become digit strings, `null`/absent stays as it is. */
export function toId(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value.trim();
  return value;
}

/** One owner id, several comma-separated ones, or an array of them → `string[]`. */
export function toIdList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map((v) => String(toId(v))).filter((v) => v !== '' && v !== '0');
  const s = String(toId(value));
  return s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '' && p !== '0');
}

/** A phone as `[area, number]`; accepts a pair, `{"0","1"}`, `{tel_area_code, tel}` or a bare string. */
export function toTelPair(value: unknown): [string, string] | null {
  if (value === null || value === undefined) return null;
  const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v).trim());
  if (Array.isArray(value)) return [str(value[0]), str(value[1])];
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('tel_area_code' in o || 'tel' in o) return [str(o.tel_area_code), str(o.tel)];
    return [str(o['0']), str(o['1'])];
  }
  return ['', str(value)];
}

const enum Kind {
  Date = 1,
  Id,
  Number,
  Tel,
  TelList,
}

/** Each special key's kind, in one lookup. */
const KINDS: Record<string, Kind | undefined> = Object.assign(
  Object.create(null) as Record<string, Kind | undefined>,
  Object.fromEntries([
    ...[...DATE_KEYS].map((k): [string, Kind] => [k, Kind.Date]),
    ...[...ID_KEYS].map((k): [string, Kind] => [k, Kind.Id]),
    ...[...NUMBER_KEYS].map((k): [string, Kind] => [k, Kind.Number]),
    ['tel', Kind.Tel],
    ['tel_list', Kind.TelList],
  ]),
);

function normalizeEntry(key: string, value: unknown, inPlace: boolean): unknown {
  const kind = KINDS[key];
  if (kind === Kind.Tel) return toTelPair(value);
  if (kind === Kind.TelList) return Array.isArray(value) ? value.map(toTelPair).filter((p) => p !== null) : [];
  if (Array.isArray(value)) {
    if (!inPlace) return value.map((v) => normalizeEntry('', v, false));
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const n = normalizeEntry('', v, true);
      if (n !== v) value[i] = n;
    }
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const out: Record<string, unknown> = inPlace ? o : {};
    for (const k in o) {
      if (!Object.hasOwn(o, k)) continue;
      const v = o[k];
      const n = normalizeEntry(k, v, inPlace);
      if (!inPlace || n !== v) out[k] = n;
    }
    return out;
  }
  if (typeof value === 'string' && isNever(value)) return null;
  if (kind === undefined) return value;
  if (kind === Kind.Date) return typeof value === 'string' && value.trim() === '' ? null : value;
  if (kind === Kind.Id) return toId(value);
  if (kind === Kind.Number && typeof value === 'string') {
    const t = value.trim();
    if (t === '') return null;
    if (/^-?\d+$/.test(t)) return Number(t);
  }
  return value;
}
