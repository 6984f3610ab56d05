import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError, seededRandom } from '@qiao/core';
import { startYonbipSandbox, type YonbipFaultKind, type YonbipSandbox, type YonbipSandboxOptions } from '../src/sandbox/index.js';
import { connect, customer, range, writeCtx } from './helpers.js';

let sb: YonbipSandbox | undefined;
async function start(options: YonbipSandboxOptions = {}): Promise<YonbipSandbox> {
  sb = await startYonbipSandbox(options);
  return sb;
}
afterEach(async () => {
  await sb?.stop();
  sb = undefined;
});

function expectEachInsertedOnce(s: YonbipSandbox, codes: string[]) {
  const inserts = s.insertsByCode();
  expect([...inserts.keys()].sort()).toEqual([...codes].sort());
  expect([...inserts.values()].every((n) => n === 1)).toBe(true);
  expect(s.merchants()).toHaveLength(codes.length);
}

describe('merchant.save under token expiry, rate limits and faults', () => {
  it('recovers from 310036 mid-sync (tokenTtlCalls)', async () => {
    const s = await start({ tokenTtlCalls: 5 });
    const { target, client } = connect(s, { limits: { requestsPerSecond: 500, concurrency: 4 } });
    const results = await Promise.all(range(12).map((i) => target.write(customer(i), writeCtx(`k${i}`))));
    expect(results.every((r) => r.outcome === 'inserted')).toBe(true);
    expectEachInsertedOnce(s, range(12).map((i) => `C${i}`));
    expect(s.counters.tokenExpired).toBeGreaterThan(0);
    expect(s.counters.token).toBeGreaterThanOrEqual(5);
    expect(client.tokensIssued).toBe(s.counters.token);
  });

  it('shares one token refresh among concurrent writers', async () => {
    const s = await start();
    const { target } = connect(s, { limits: { requestsPerSecond: 500, concurrency: 8 } });
    await target.write(customer('first'), writeCtx('first'));
    expect(s.counters.token).toBe(1);
    s.expireTokens();
    await Promise.all(range(8).map((i) => target.write(customer(i), writeCtx(`k${i}`))));
    expect(s.counters.tokenExpired).toBeGreaterThanOrEqual(2);
    expect(s.counters.token).toBe(2);
    expect(s.merchants()).toHaveLength(9);
  });

  it('refreshes on a plain-text 非法token answer', async () => {
    const s = await start();
    const { target } = connect(s);
    await target.write(customer(0), writeCtx('k0'));
    s.failNext('save', 'plain-token');
    const r = await target.write(customer(1), writeCtx('k1'));
    expect(r.outcome).toBe('inserted');
    expect(s.counters.token).toBe(2);
    expectEachInsertedOnce(s, ['C0', 'C1']);
  });

  it('backs off on 310039 and saves every record exactly once', async () => {
    const s = await start({ rateLimitPerSecond: 5 });
    const { target } = connect(s, {
      limits: { requestsPerSecond: 100, concurrency: 4 },
      retry: { maxAttempts: 20, maxElapsedMs: 60_000 },
    });
    const results = await Promise.all(range(7).map((i) => target.write(customer(i), writeCtx(`k${i}`))));
    expect(results.every((r) => r.outcome === 'inserted')).toBe(true);
    expect(s.counters.rateLimited).toBeGreaterThan(0);
    expectEachInsertedOnce(s, range(7).map((i) => `C${i}`));
  }, 20_000);

  it('does not insert twice when the connection drops after the insert was applied', async () => {
    const s = await start();
    const { target } = connect(s);
    s.dropAfterCommit(1, 'destroy');
    const result = await target.write(customer(1), writeCtx('k1'));
    expect(result).toEqual({ outcome: 'inserted', id: s.merchantByCode('C1')?.id, targetCode: 'C1' });
    expect(s.insertsByCode().get('C1')).toBe(1);
    expect(s.counters.save).toBe(1);
    expect(s.counters.list).toBe(2);
  });

  it('does not insert twice when the answer stalls past the client timeout', async () => {
    const s = await start();
    const { target } = connect(s, { config: { timeoutMs: 300 } });
    s.dropAfterCommit(1, 'stall');
    const started = Date.now();
    const result = await target.write(customer(2), writeCtx('k2'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(result).toEqual({ outcome: 'inserted', id: s.merchantByCode('C2')?.id, targetCode: 'C2' });
    expect(s.insertsByCode().get('C2')).toBe(1);
    expect(s.counters.save).toBe(1);
  });

  it.each<[YonbipFaultKind, number]>([
    ['500', 1], // applied, then HTTP 500: found by the lookup, not re-sent
    ['truncated', 1], // applied, answer cut: found by the lookup
    ['503', 2], // not applied: the lookup finds nothing, the Insert is sent again
    ['html', 2], // 502 gateway page, not applied
  ])('resolves an unknown outcome after a %s save answer by looking the code up', async (kind, saves) => {
    const s = await start();
    const { target } = connect(s);
    s.failNext('save', kind);
    const result = await target.write(customer(3), writeCtx('k3'));
    expect(result).toEqual({ outcome: 'inserted', id: s.merchantByCode('C3')?.id, targetCode: 'C3' });
    expect(s.insertsByCode().get('C3')).toBe(1);
    expect(s.counters.save).toBe(saves);
  });

  it('repeats an Update whose outcome is unknown', async () => {
    const s = await start();
    const { target } = connect(s);
    const { id } = await target.write(customer(4), writeCtx('k4'));
    s.dropAfterCommit(1, 'destroy');
    const result = await target.write(customer(4, { email: 'x@y.cn' }), writeCtx('k4', { knownId: id }));
    expect(result).toEqual({ outcome: 'updated', id, targetCode: 'C4' });
    expect(s.merchantByCode('C4')?.email).toBe('x@y.cn');
  });

  it('gives up with an outcome-unknown RetryableError once the retry budget is spent, still without duplicates', async () => {
    const s = await start();
    const { target } = connect(s, { retry: { maxAttempts: 3 } });
    s.failNext('save', '503', 10);
    const error = await target.write(customer(5), writeCtx('k5')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).outcomeUnknown).toBe(true);
    expect(s.counters.save).toBe(3);
    expect(s.insertsByCode().get('C5')).toBeUndefined();
  });

  it('saves every record exactly once through random faults of every kind', async () => {
    const kinds: YonbipFaultKind[] = ['500', '503', '310039', 'html', 'truncated', 'plain-token'];
    const s = await start({ faultRate: 0.3, faultKinds: kinds, random: seededRandom(7) });
    const { target } = connect(s, { limits: { requestsPerSecond: 500, concurrency: 4 }, retry: { maxAttempts: 12 } });
    const results = await Promise.all(range(20).map((i) => target.write(customer(i), writeCtx(`k${i}`))));
    expect(results.every((r) => r.outcome === 'inserted' && r.id === s.merchantByCode(`C${results.indexOf(r)}`)?.id)).toBe(true);
    expect(s.counters.faults).toBeGreaterThan(5);
    expectEachInsertedOnce(s, range(20).map((i) => `C${i}`));
    // a second pass updates them all, still without an insert
    const again = await Promise.all(range(20).map((i) => target.write(customer(i, { postCode: '200000' }), writeCtx(`k${i}`))));
    expect(again.every((r) => r.outcome === 'updated')).toBe(true);
    expectEachInsertedOnce(s, range(20).map((i) => `C${i}`));
  }, 20_000);
});
