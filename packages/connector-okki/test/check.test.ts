import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorAuthError, RetryableError } from '@qiao/core';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { fastRetry, wire } from './helpers.js';

let s: OkkiSandbox | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe('OkkiConnectionCheck', () => {
  it('authenticates, lists one company and summarises in one line', async () => {
    s = await startOkkiSandbox({ customers: 45 });
    const { check } = wire(s);
    const summary = await check.check();
    expect(summary).toBe(`authenticated as client qiao-demo-client at ${s.url}; 45 customers visible`);
    expect(s.requestLog.find((r) => r.path === '/v1/company/list')?.query.count).toBe('1');
  });

  it('rejects refused credentials with ConnectorAuthError', async () => {
    s = await startOkkiSandbox({ customers: 1 });
    const { check } = wire(s, { config: { clientSecret: 'not-the-secret-123' } });
    await expect(check.check()).rejects.toBeInstanceOf(ConnectorAuthError);
  });

  it('rejects an unreachable host with RetryableError', async () => {
    s = await startOkkiSandbox();
    const url = s.url;
    await s.stop();
    const { check } = wire(s, { config: { baseUrl: url }, retry: { ...fastRetry, maxAttempts: 2 } });
    await expect(check.check()).rejects.toBeInstanceOf(RetryableError);
  });
});
