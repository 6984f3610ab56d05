import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint, stableStringify } from '../src/executor/fingerprint.js';
import { seededRandom } from '../src/util/seeded-random.js';

describe('fingerprints', () => {
  it('canonical JSON is exactly stableStringify, whatever the value holds', () => {
    const random = seededRandom(3);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const keys = ['code', 'name', 'zh_CN', 'a', 'B', 'b', '_status', '客户', '10', '9', '0', '01', '-1', 'x y', '\u00e9', '__proto__', 'Z'];
    const leaf = (): unknown =>
      pick<() => unknown>([
        () => 'text',
        () => '上海某某"贸易"\n有限公司',
        () => '\ud800',
        () => Math.floor(random() * 1e6),
        () => -0,
        () => 1.5e300,
        () => Number.NaN,
        () => true,
        () => null,
        () => undefined,
        () => 12345678901234567890n,
        () => new Date(0),
        () => () => 1,
      ])();
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.4) return leaf();
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = random() < 0.1 ? Object.create(null) : {};
      const n = Math.floor(random() * 6);
      for (let i = 0; i < n; i++) {
        const k = pick(keys);
        if (k === '__proto__') Object.defineProperty(o, k, { value: value(depth + 1), enumerable: true, configurable: true, writable: true });
        else o[k] = value(depth + 1);
      }
      return o;
    };
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const v = value(0);
      let expected: string;
      try {
        expected = stableStringify(v);
      } catch {
        continue;
      }
      expect(canonicalJson(v), expected).toBe(expected);
      compared++;
    }
    expect(compared).toBeGreaterThan(4000);
  });

  it('does not depend on key order, and tells different content apart', () => {
    const a = { code: 'C1', name: { zh_CN: '客户' }, createOrg: '1481709712348020742', merchantOptions: true };
    const b = { merchantOptions: true, createOrg: '1481709712348020742', name: { zh_CN: '客户' }, code: 'C1' };
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(fingerprint({ ...a, code: 'C2' }));
    expect(fingerprint(a)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // the fingerprint of a payload is what earlier versions stored: a state database keeps its meaning
    expect(fingerprint(a)).toBe('OXURdbR0ywFW413k2t557h');
  });
});
