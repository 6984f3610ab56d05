import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorAuthError, InputError } from '@qiao/core';
import { startYonbipSandbox, type YonbipSandbox } from '../src/sandbox/index.js';
import { connect, customer, writeCtx } from './helpers.js';

const SECRET = 'very-secret-Value-42';
let sb: YonbipSandbox;
beforeAll(async () => {
  sb = await startYonbipSandbox({ appSecret: SECRET, tenantId: 'tenant-auth' });
});
afterAll(() => sb.stop());

async function failure(promise: Promise<unknown>): Promise<ConnectorAuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorAuthError);
  const e = error as ConnectorAuthError;
  expect(`${e.message} ${e.hint} ${String(e.stack)}`).not.toContain(SECRET);
  return e;
}

describe('yonbip credentials', () => {
  it('names YonBIP and YONBIP_APP_KEY for an unknown appKey, without the secret', async () => {
    const { target } = connect(sb, { config: { appKey: 'no-such-app' } });
    const e = await failure(target.write(customer(1), writeCtx('k1')));
    expect(e.message).toContain('YonBIP');
    expect(e.message).toContain('应用不存在或appKey已停用');
    expect(e.hint).toContain('YONBIP_APP_KEY');
    expect(e.reason).toBe('yonbip.10018');
    expect(sb.merchants()).toHaveLength(0);
  });

  it('points at the appSecret when the signature is refused', async () => {
    const { target, check } = connect(sb, { config: { appSecret: 'wrong-secret-Value' } });
    const e = await failure(target.write(customer(1), writeCtx('k1')));
    expect(e.message).toContain('YonBIP');
    expect(e.hint).toContain('YONBIP_APP_SECRET');
    expect(e.message).not.toContain('wrong-secret-Value');
    const c = await failure(check.check());
    expect(c.hint).toContain('YONBIP_APP_SECRET');
  });

  it('points at YONBIP_TENANT_ID for an unknown tenant', async () => {
    const { check } = connect(sb, { config: { tenantId: 'nobody' } });
    const e = await failure(check.check());
    expect(e.message).toContain('YonBIP');
    expect(e.message).toContain('根据租户id获取网关地址出现异常');
    expect(e.hint).toContain('YONBIP_TENANT_ID');
  });

  it('fails fast on a gateway URL without its path prefix (404 310404)', async () => {
    const { target } = connect(sb, { mode: 'direct', config: { gatewayUrl: sb.url } });
    const e = await failure(target.write(customer(1), writeCtx('k1')));
    expect(e.reason).toBe('yonbip.310404');
    expect(e.hint).toContain('gatewayUrl');
  });

  it('checks a good connection in one line', async () => {
    const { check } = connect(sb);
    const line = await check.check();
    expect(line).toMatch(/^用友 YonBIP: tenant tenant-auth → gateway http:\/\/127\.0\.0\.1:\d+\/iuap-api-gateway, token ok, \d+ customer records visible$/);
  });

  it('refuses an incomplete connection before any request', async () => {
    const before = sb.counters.total;
    const { target, check } = connect(sb, { config: { tenantId: undefined, appKey: '' } });
    const error = await target.write(customer(1), writeCtx('k1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems.map((p) => p.pointer)).toEqual(['/appKey', '']);
    await expect(check.check()).rejects.toBeInstanceOf(InputError);
    expect(sb.counters.total).toBe(before);
  });
});
