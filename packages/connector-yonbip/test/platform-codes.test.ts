import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorAuthError, RecordError, RetryableError } from '@qiao/core';
import { startYonbipSandbox, type YonbipPlatformCode, type YonbipSandbox } from '../src/sandbox/index.js';
import { LIST_API, SAVE_API, connect, customer, writeCtx } from './helpers.js';

let sb: YonbipSandbox | undefined;
async function start(): Promise<YonbipSandbox> {
  sb = await startYonbipSandbox();
  return sb;
}
afterEach(async () => {
  await sb?.stop();
  sb = undefined;
});

async function failure(p: Promise<unknown>): Promise<Error & { reason?: string; hint?: string; outcomeUnknown?: boolean }> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  if (!e) throw new Error('expected a failure');
  return e;
}

describe('YonBIP platform codes (shared/api/yonbip.md "Platform codes")', () => {
  it('310037 on every call: one fatal error naming the API and the app, with the 开放平台 hint, no retries, nothing written', async () => {
    const s = await start();
    s.answerCode('310037');
    const { target } = connect(s);
    const e = await failure(target.write(customer(1), writeCtx('k1')));
    expect(e).toBeInstanceOf(ConnectorAuthError);
    expect(e.reason).toBe('yonbip.310037');
    expect(e.message).toContain(LIST_API);
    expect(e.message).toContain('app qiao-demo-app');
    expect(e.hint).toContain('开放平台');
    expect(e.hint).toContain('API授权');
    expect(s.counters.codes['310037']).toBe(1);
    expect(s.merchants()).toHaveLength(0);
  });

  it('310037 on the save path only (the app may read but not write)', async () => {
    const s = await start();
    s.setApiUnauthorised(SAVE_API);
    const { target } = connect(s);
    const e = await failure(target.write(customer(1), writeCtx('k1')));
    expect(e.reason).toBe('yonbip.310037');
    expect(e.message).toContain(SAVE_API);
    expect(s.counters.list).toBe(1);
    expect(s.counters.save).toBe(1);
  });

  it('310504 after a committed save: exactly one record, found by its code before anything is sent again', async () => {
    const s = await start();
    s.answerCode('310504', { on: 'save', times: 1 });
    const { target } = connect(s);
    const result = await target.write(customer(1), writeCtx('k1'));
    expect(result).toEqual({ outcome: 'inserted', id: s.merchantByCode('C1')?.id, targetCode: 'C1' });
    expect(s.insertsByCode().get('C1')).toBe(1);
    expect(s.counters.save).toBe(1);
    expect(s.counters.list).toBe(2);
  });

  it.each<[YonbipPlatformCode, number]>([
    ['310504', 1], // gateway timeout after the backend committed
    ['310078', 1], // backend timeout after commit
    ['202', 1], // MDD still processing (applied)
  ])('%s on a write is an unknown outcome, resolved by lookup: one record, saved %i time(s)', async (code, saves) => {
    const s = await start();
    s.answerCode(code, { on: 'save', times: 1 });
    const { target } = connect(s);
    expect((await target.write(customer(2), writeCtx('k2'))).outcome).toBe('inserted');
    expect(s.insertsByCode().get('C2')).toBe(1);
    expect(s.counters.save).toBe(saves);
  });

  it('310071 (backend failure) not applied: looked up, not found, sent again once', async () => {
    const s = await start();
    s.answerCode('310071', { on: 'save', times: 1 });
    const { target } = connect(s);
    expect((await target.write(customer(3), writeCtx('k3'))).outcome).toBe('inserted');
    expect(s.insertsByCode().get('C3')).toBe(1);
    expect(s.counters.save).toBe(2);
    // the first lookup, then by code and by exact name (a coding rule may have replaced the code)
    expect(s.counters.list).toBe(3);
  });

  it('310071 after the backend applied the save: found, not sent again', async () => {
    const s = await start();
    s.answerCode('310071', { on: 'save', times: 1, applied: true });
    const { target } = connect(s);
    expect((await target.write(customer(4), writeCtx('k4'))).outcome).toBe('inserted');
    expect(s.insertsByCode().get('C4')).toBe(1);
    expect(s.counters.save).toBe(1);
  });

  it.each<YonbipPlatformCode>(['310043', '310072'])(
    '%s is retried with back-off, on reads and writes alike',
    async (code) => {
      const s = await start();
      s.answerCode(code, { on: 'save', times: 2 });
      s.answerCode(code, { on: 'list', times: 1 });
      const { target } = connect(s);
      expect((await target.write(customer(5), writeCtx('k5'))).outcome).toBe('inserted');
      expect(s.insertsByCode().get('C5')).toBe(1);
      expect(s.counters.save).toBe(3);
      expect(s.counters.codes[code]).toBe(3);
    },
  );

  it.each<YonbipPlatformCode>(['310032', '310039', '310042', '310046'])('%s (a quota) is waited out and retried', async (code) => {
    const s = await start();
    s.answerCode(code, { on: 'save', times: 1 });
    const { target } = connect(s);
    expect((await target.write(customer(5), writeCtx('k5'))).outcome).toBe('inserted');
    expect(s.insertsByCode().get('C5')).toBe(1);
    expect(s.counters.save).toBe(2);
  });

  it('310043 (circuit breaker) waits longer than a plain failure, bounded by the retry policy', async () => {
    const s = await start();
    s.answerCode('310043', { on: 'list', times: 1 });
    const { target } = connect(s, { retry: { baseDelayMs: 1, maxDelayMs: 300 } });
    const started = Date.now();
    await target.write(customer(6), writeCtx('k6'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('310043 for longer than the retry budget ends in a retryable error, the record kept for the next run', async () => {
    const s = await start();
    s.answerCode('310043', { on: 'list' });
    const { target } = connect(s, { retry: { maxAttempts: 3 } });
    const e = await failure(target.write(customer(7), writeCtx('k7')));
    expect(e).toBeInstanceOf(RetryableError);
    expect(e.reason).toBe('yonbip.310043');
    expect(s.counters.list).toBe(3);
  });

  it('310404 on a path: fatal, with a hint about the endpoint version (classic vs V2)', async () => {
    const s = await start();
    s.setApiMissing(LIST_API);
    const { target } = connect(s);
    const e = await failure(target.write(customer(8), writeCtx('k8')));
    expect(e).toBeInstanceOf(ConnectorAuthError);
    expect(e.reason).toBe('yonbip.310404');
    expect(e.message).toContain(LIST_API);
    expect(e.hint).toMatch(/V2/);
    expect(e.hint).toMatch(/newlist/);
    expect(s.counters.codes['310404']).toBe(1);
  });

  it.each<YonbipPlatformCode>(['999', '310008', '310015', '310023'])('%s rejects the record (a dead letter), nothing repeated', async (code) => {
    const s = await start();
    s.answerCode(code, { on: 'save', times: 1 });
    const { target } = connect(s);
    const e = await failure(target.write(customer(9), writeCtx('k9')));
    expect(e).toBeInstanceOf(RecordError);
    expect(e.reason).toBe(`yonbip.${code}`);
    expect(s.merchants()).toHaveLength(0);
  });

  it('310001 and 310036: the token is refreshed once and the call repeated', async () => {
    const s = await start();
    const { target } = connect(s);
    await target.write(customer(10), writeCtx('k10'));
    s.answerCode('310001', { on: 'save', times: 1 });
    s.answerCode('310036', { on: 'list', times: 1 });
    expect((await target.write(customer(11), writeCtx('k11'))).outcome).toBe('inserted');
    expect(s.counters.token).toBe(3);
  });

  it('a plan on a path, for the next N calls, and clearCodes', async () => {
    const s = await start();
    s.answerCode('310072', { on: LIST_API, times: 2 });
    s.answerCode('310037');
    const { client } = connect(s);
    const list = () => client.post(LIST_API, { pageIndex: 1, pageSize: 1 }, { idempotent: true });
    await expect(list()).rejects.toMatchObject({ reason: 'yonbip.310037' }); // after the two 310072 answers, retried
    expect(s.counters.codes).toMatchObject({ '310072': 2, '310037': 1 });
    s.clearCodes();
    await expect(list()).resolves.toMatchObject({ pageIndex: 1 });
  });
});
