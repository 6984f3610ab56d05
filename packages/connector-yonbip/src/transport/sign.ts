import { createHmac } from 'node:crypto';

/**
 * Signs request parameters the way the YonBIP open platform checks them: every parameter except
 * `signature`, sorted by name, concatenated as name+value with no separators, HMAC-SHA256 keyed with
 * the appSecret, Base64.
 *
 * The result is NOT URL-encoded: it contains `+`, `/` and `=`, and must be encoded exactly once on
 * the wire (see {@link signedTokenQuery}).
 *
 * @example
 * sign({ appKey: 'test', timestamp: '1789123783390' }, 'test')
 * // => 'y5DMe+UkjSqbPVWsMvGUjfeX6gfCbXnvP0tAU1ZI0jw='
 */
export function sign(params: Readonly<Record<string, string | number>>, appSecret: string): string {
  const text = Object.keys(params)
    .filter((name) => name !== 'signature')
    // Java's TreeMap order (UTF-16 code units), not localeCompare.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${name}${params[name]}`)
    .join('');
  return createHmac('sha256', appSecret).update(text, 'utf8').digest('base64');
}

/**
 * The query string of a getAccessToken request, each value URL-encoded exactly once:
 * `appKey=K&timestamp=MS&signature=S`.
 *
 * @example
 * signedTokenQuery('test', 'test', 1789123783390)
 * // => 'appKey=test&timestamp=1789123783390&signature=y5DMe%2BUkjSqbPVWsMvGUjfeX6gfCbXnvP0tAU1ZI0jw%3D'
 */
export function signedTokenQuery(appKey: string, appSecret: string, timestamp: number): string {
  const params = { appKey, timestamp: String(timestamp) };
  const signature = sign(params, appSecret);
  return `appKey=${encodeURIComponent(appKey)}&timestamp=${params.timestamp}&signature=${encodeURIComponent(signature)}`;
}
