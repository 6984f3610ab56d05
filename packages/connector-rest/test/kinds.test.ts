import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorAuthError, RecordError } from '@qiao/core';
import { API_KEY, SECRET, fakeManifest, readAll, startFakeApi, wireFake, writeContext, type FakeApi } from './fake-api.js';

const PAGE = '      kind: page_number\n      param: page\n      size: { param: size, value: 10 }\n      total: $.data.total';

const AUTHS: Record<string, { family: string; auth: string }> = {
  'API key in a header': { family: 'key', auth: '  kind: api_key\n  in: header\n  name: X-Api-Key\n  value: "{{connection.apiKey}}"' },
  'API key in the query': { family: 'query', auth: '  kind: api_key\n  in: query\n  name: api_key\n  value: "{{connection.apiKey}}"' },
  bearer: { family: 'bearer', auth: '  kind: bearer\n  token: "{{connection.secret}}"' },
  Basic: { family: 'basic', auth: '  kind: basic\n  username: user\n  password: "{{connection.secret}}"' },
  'OAuth2 client credentials (form)': {
    family: 'oauth',
    auth: '  kind: oauth2_client_credentials\n  tokenUrl: /token\n  body: form\n  params: { grant_type: client_credentials, client_secret: "{{connection.secret}}" }\n  tokenPath: $.data.token\n  expiresInPath: $.data.ttl',
  },
  'OAuth2 client credentials (JSON)': {
    family: 'oauth',
    auth: '  kind: oauth2_client_credentials\n  tokenUrl: /token\n  body: json\n  params: { grant_type: client_credentials, client_secret: "{{connection.secret}}" }\n  tokenPath: $.data.token',
  },
  'signed token (HMAC-SHA256)': {
    family: 'signed',
    auth: '  kind: signed_token\n  tokenUrl: /token\n  params: { appKey: demo, timestamp: "{{now.ms}}" }\n  signature: { algorithm: hmac-sha256, key: "{{connection.secret}}" }\n  tokenPath: $.data.access_token\n  expiresInPath: $.data.expire\n  apply: { in: query, name: access_token }',
  },
};

describe('REST connector against a local API', () => {
  let api: FakeApi;
  beforeAll(async () => {
    api = await startFakeApi(23);
  });
  afterAll(() => api?.stop());

  describe.each(Object.entries(AUTHS))('auth: %s', (_, a) => {
    it('reads every row, and a wrong secret is refused without the secret in the message', async () => {
      const { source } = wireFake(fakeManifest({ ...a, pagination: PAGE, path: 'items' }), api);
      const rows = await readAll(source);
      expect(rows.map((r) => r.key)).toEqual(api.items.map((i) => String(i.id)));
      const bad = wireFake(fakeManifest({ ...a, pagination: PAGE, path: 'items' }), api, { secret: 'wrong-secret-9', apiKey: 'wrong-secret-9' });
      const error = await readAll(bad.source).catch((e: Error) => e);
      expect(error).toBeInstanceOf(ConnectorAuthError);
      expect((error as Error).message).not.toContain('wrong-secret-9');
      expect((error as Error).message).not.toContain(SECRET);
      expect((error as Error).message).not.toContain(API_KEY);
    });
  });

  it('OAuth2: one token for the read, refreshed once when the envelope says it expired', async () => {
    const { source } = wireFake(fakeManifest({ ...AUTHS['OAuth2 client credentials (form)']!, pagination: PAGE, path: 'items' }), api);
    api.tokenCalls = 2;
    const before = api.counters.token;
    try {
      const rows = await readAll(source);
      expect(rows).toHaveLength(23);
      // 3 list pages with a token good for 2 calls: a second token, no more
      expect(api.counters.token - before).toBe(2);
      expect(api.tokenBodies.at(-1)).toContain('x-www-form-urlencoded');
    } finally {
      api.tokenCalls = 1000;
    }
  });

  const PAGINATIONS: Record<string, { pagination: string; path: string; lists: number }> = {
    'page number with a total': { pagination: PAGE, path: 'items', lists: 3 },
    offset: { pagination: '      kind: offset\n      param: offset\n      size: { param: limit, value: 5 }\n      total: $.data.total', path: 'offset', lists: 5 },
    'cursor token': { pagination: '      kind: cursor\n      param: after\n      next: $.data.next', path: 'cursor', lists: 4 },
    'Link header': { pagination: '      kind: link_header', path: 'link', lists: 3 },
  };
  it.each(Object.entries(PAGINATIONS))('pagination: %s lists every row once, in order', async (_, p) => {
    const { source } = wireFake(fakeManifest({ ...AUTHS.bearer!, ...p }), api);
    const before = api.counters.list;
    const rows = await readAll(source);
    expect(rows.map((r) => r.key)).toEqual(api.items.map((i) => String(i.id)));
    expect(api.counters.list - before).toBe(p.lists);
  });

  it('envelope: ok, "not found" inside HTTP 200 (a skip), rate limited and 5xx retried, detail merged with ids as strings', async () => {
    const { source } = wireFake(fakeManifest({ ...AUTHS.bearer!, pagination: PAGE, path: 'items', detail: true }), api);
    api.inject('rate', 2);
    api.inject('http500', 1);
    const faults = { rate: api.counters.rateLimited, http: api.counters.faults };
    const rows = await readAll(source, { detail: true });
    expect(api.counters.rateLimited - faults.rate).toBe(2);
    expect(api.counters.faults - faults.http).toBe(1);
    expect(rows).toHaveLength(23);
    const gone = rows.filter((r) => r.skip);
    expect(gone.map((r) => r.key)).toEqual(['3']);
    expect(gone[0]!.skip!.reason).toBe('fake.detail_not_found');
    const five = rows.find((r) => r.key === '5')!;
    expect(five.data).toMatchObject({ id: '5', extra: '详情 5', big: '1234567890123456789', updated: api.items[4]!.updated });
  });

  it('envelope: a record error is a RecordError with the system code and message; an unknown answer too', async () => {
    const { target } = wireFake(fakeManifest({ ...AUTHS.bearer!, pagination: PAGE, path: 'items' }), api);
    const e = await target.write({ code: 'C-1' }, writeContext()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RecordError);
    expect((e as RecordError).reason).toBe('fake.E100');
    expect((e as RecordError).message).toContain('name is required');
  });

  it('writes: insert, then upsert by lookup (no second record on a repeated write), 19-digit ids exact', async () => {
    const { target } = wireFake(fakeManifest({ ...AUTHS.bearer!, pagination: PAGE, path: 'items' }), api);
    const first = await target.write({ code: 'C-9', name: '甲' }, writeContext());
    expect(first.outcome).toBe('inserted');
    expect(first.id).toMatch(/^18700000000000000\d\d$/);
    // a write that may have reached the target already (the answer was lost): the lookup finds it
    const again = await target.write({ code: 'C-9', name: '乙' }, writeContext({ maybeWritten: true }));
    expect(again).toEqual({ outcome: 'updated', id: first.id });
    const known = await target.write({ code: 'C-9', name: '丙' }, writeContext({ knownId: first.id }));
    expect(known.outcome).toBe('updated');
    expect([...api.customers.values()].filter((c) => c.code === 'C-9')).toEqual([{ id: first.id, code: 'C-9', name: '丙' }]);
  });
});
