import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectorAuthError, RecordError, type HttpRequest, type HttpResponse } from '@qiao/core';
import { classifyOkki } from '@qiao/connector-okki';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { collect, readContext, wire } from './helpers.js';

const sandboxes: OkkiSandbox[] = [];
async function sandbox(options: Parameters<typeof startOkkiSandbox>[0] = {}): Promise<OkkiSandbox> {
  const s = await startOkkiSandbox(options);
  sandboxes.push(s);
  return s;
}
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(sandboxes.splice(0).map((s) => s.stop()));
});

describe('OkkiClient: token', () => {
  it('refuses bad credentials with ConnectorAuthError naming OKKI, hinting at client id and secret, never showing the secret', async () => {
    const s = await sandbox({ customers: 3 });
    const secret = 'Wr0ng-S3cret-7f3a9c';
    for (const config of [{ clientSecret: secret }, { clientId: 'nobody', clientSecret: secret }]) {
      const { client, stream } = wire(s, { config });
      const error = await client.token().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectorAuthError);
      const e = error as ConnectorAuthError;
      expect(e.code).toBe('QIAO_AUTH');
      expect(e.system).toBe('okki');
      expect(e.reason).toBe('okki.invalid_client');
      expect(e.message).toContain('小满 OKKI');
      expect(e.message).toContain('Client authentication failed');
      expect(e.hint).toContain('OKKI_CLIENT_ID');
      expect(e.hint).toContain('clientId');
      expect(e.hint).toContain('clientSecret');
      for (const text of [e.message, e.hint ?? '', e.stack ?? '', JSON.stringify(e), String(e.cause ?? '')]) {
        expect(text).not.toContain(secret);
      }
      // A read fails the same way, at once (no retries on refused credentials).
      await expect(collect(stream, readContext())).rejects.toBeInstanceOf(ConnectorAuthError);
    }
    expect(s.counters.list).toBe(0);
  });

  it('falls back to a form body when the JSON body is refused, and keeps using the form', async () => {
    const s = await sandbox({ customers: 3, rejectJsonTokenBody: true });
    const { client } = wire(s);
    await client.listCompanies({ start_index: 1, count: 20 });
    expect(s.counters.token).toBe(2); // JSON refused, then the form
    s.expireTokens();
    await client.listCompanies({ start_index: 1, count: 20 });
    expect(s.counters.token).toBe(3); // straight to the form
    expect(client.tokensIssued).toBe(2);
  });

  it('caches a token without expires_in for 8 hours (refreshing shortly before)', async () => {
    const realNow = Date.now.bind(Date);
    let offset = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    const s = await sandbox({ customers: 3, omitExpiresIn: true, tokenTtlSeconds: 10 * 3600 });
    const { client } = wire(s);
    for (let i = 0; i < 5; i++) await client.listCompanies({ start_index: 1, count: 1 });
    offset = 7 * 3600_000 + 50 * 60_000; // 7h50m later: still the first token
    await client.listCompanies({ start_index: 1, count: 1 });
    expect(s.counters.token).toBe(1);
    offset = 7 * 3600_000 + 56 * 60_000; // within 5 minutes of 8 h: refreshed ahead of expiry
    await client.listCompanies({ start_index: 1, count: 1 });
    expect(s.counters.token).toBe(2);
    expect(s.counters.unauthorized).toBe(0);
  });

  it('uses expires_in when OKKI sends it', async () => {
    const s = await sandbox({ customers: 3 });
    const { client } = wire(s);
    for (let i = 0; i < 5; i++) await client.listCompanies({ start_index: 1, count: 1 });
    expect(s.counters.token).toBe(1);
  });

  it('shares one refresh among concurrent requests whose token expired', async () => {
    const s = await sandbox({ customers: 20 });
    const { client } = wire(s, { limits: { concurrency: 8 } });
    const ids = s.companies().slice(0, 8).map((c) => String(c.company_id));
    await client.token();
    s.expireTokens();
    const details = await Promise.all(ids.map((id) => client.companyInfo(id)));
    expect(details.map((d) => String(d?.company_id))).toEqual(ids);
    expect(s.counters.unauthorized).toBeGreaterThanOrEqual(2);
    expect(s.counters.token).toBe(2);
    expect(client.http.stats.tokenRefreshes).toBe(s.counters.unauthorized);
  });

  it('sends every request, token calls included, through the connection limiter', async () => {
    const s = await sandbox({ customers: 10 });
    const { client, ctx } = wire(s);
    await client.listCompanies({ start_index: 1, count: 5 });
    await client.companyInfo(String(s.companies()[0]!.company_id));
    expect(ctx.limiter.stats.started).toBe(s.counters.total);
    expect(s.counters.total).toBe(3);
  });
});

describe('OkkiClient: envelopes', () => {
  it('returns undefined for a company OKKI does not know (HTTP 200, code 404)', async () => {
    const s = await sandbox({ customers: 3 });
    const { client } = wire(s);
    expect(await client.companyInfo('1')).toBeUndefined();
  });

  it('raises RecordError with OKKI\'s message for other codes', async () => {
    const s = await sandbox({ customers: 3 });
    const { client } = wire(s);
    const e = await client.listCompanies({ start_index: 1, count: 20, start_time: 'yesterday' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RecordError);
    expect((e as RecordError).reason).toBe('okki.400');
    expect((e as RecordError).message).toContain('start_time 格式错误');
  });

  it('retries HTML and truncated bodies under HTTP 200', async () => {
    const s = await sandbox({ customers: 30, faultRate: 0.5, faultKinds: ['html', 'truncated'], seed: 3 });
    const { client } = wire(s);
    for (let page = 1; page <= 3; page++) {
      const res = await client.listCompanies({ start_index: page, count: 10 });
      expect(res.list).toHaveLength(10);
    }
    expect(s.counters.faults).toBeGreaterThan(0);
    expect(client.http.stats.retries).toBe(s.counters.faults);
  });
});

describe('classifyOkki', () => {
  const req = (name: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({ method: 'GET', url: 'http://x/v1/company/list', name, ...extra });
  const res = (status: number, body: unknown, contentType = 'application/json'): HttpResponse => ({
    status,
    headers: {},
    text: typeof body === 'string' ? body : JSON.stringify(body),
    json: typeof body === 'string' ? undefined : body,
    contentType,
  });
  const list = req('company/list');
  const info = req('company/info', { url: 'http://x/v1/company/info' });
  const token = req('oauth2/access_token', { method: 'POST', json: {} });

  it.each([
    ['code 200', res(200, { code: 200, message: 'success', data: { list: [], totalItem: 0, count: 0 } }), list, 'ok', undefined],
    ['code 200, empty list as data []', res(200, { code: 200, message: 'success', data: [] }), list, 'ok', undefined],
    ['code 200, list without data', res(200, { code: 200, message: 'success' }), list, 'retry', 'okki.bad_envelope'],
    ['code 200, list without data.list', res(200, { code: 200, message: 'success', data: { totalItem: 300 } }), list, 'retry', 'okki.bad_envelope'],
    ['code 200, detail', res(200, { code: 200, message: 'success', data: { company_id: 1 } }), info, 'ok', undefined],
    ['code 200, detail without data', res(200, { code: 200, message: 'success' }), info, 'retry', 'okki.bad_envelope'],
    ['code 200, detail with data []', res(200, { code: 200, message: 'success', data: [] }), info, 'retry', 'okki.bad_envelope'],
    ['no code', res(200, { message: 'ok' }), list, 'retry', 'okki.bad_envelope'],
    ['code 404', res(200, { code: 404, message: 'Not Found Resource', data: [] }), list, 'record', 'okki.not_found'],
    ['code 400', res(200, { code: 400, message: '参数错误' }), list, 'record', 'okki.400'],
    ['code -1', res(200, { code: -1, message: '系统繁忙' }), list, 'record', 'okki.-1'],
    ['HTTP 401', res(401, { error: 'access_denied' }), list, 'token_expired', 'okki.token_expired'],
    ['access_denied in HTTP 200', res(200, { error: 'access_denied', message: 'denied' }), list, 'token_expired', 'okki.token_expired'],
    ['HTTP 429', res(429, { code: 429 }), list, 'retry', 'okki.rate_limited'],
    ['HTTP 502 HTML', res(502, '<html>bad gateway</html>', 'text/html'), list, 'retry', 'okki.http_502'],
    ['HTML under 200', res(200, '<!DOCTYPE html><html></html>', 'text/html'), list, 'retry', 'okki.bad_body'],
    ['truncated JSON under 200', res(200, '{"code":200,"data":{"li'), list, 'retry', 'okki.bad_body'],
    ['missing scope', res(403, { code: 403, message: 'no permission company scopes' }), list, 'auth', 'okki.scope'],
    ['HTTP 404', res(404, { error: 'not_found' }), list, 'fatal', 'okki.http_404'],
    ['token: invalid_client', res(401, { error: 'invalid_client', message: 'Client authentication failed' }), token, 'auth', 'okki.invalid_client'],
    ['token: JSON refused (415)', res(415, 'Unsupported Media Type', 'text/plain'), token, 'record', 'okki.token_json_refused'],
    ['token: JSON refused (400)', res(400, { error: 'invalid_request' }), token, 'record', 'okki.token_json_refused'],
    ['token: 503', res(503, 'busy', 'text/plain'), token, 'retry', 'okki.http_503'],
    ['token: ok', res(200, { token_type: 'Bearer', access_token: 'abc' }), token, 'ok', undefined],
  ])('%s → %s', (_name, response, request, kind, reason) => {
    const verdict = classifyOkki(response, request);
    expect(verdict.kind).toBe(kind);
    if (reason) expect((verdict as { reason: string }).reason).toBe(reason);
  });
});
