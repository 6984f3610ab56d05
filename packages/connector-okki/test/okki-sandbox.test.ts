import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';

async function token(sb: OkkiSandbox, body: Record<string, string> = {}, form = false): Promise<Response> {
  const fields = { grant_type: 'client_credentials', client_id: sb.credentials.clientId, client_secret: sb.credentials.clientSecret, scope: 'company', ...body };
  return fetch(`${sb.url}/v1/oauth2/access_token`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(fields).toString() : JSON.stringify(fields),
  });
}

async function accessToken(sb: OkkiSandbox): Promise<string> {
  return ((await (await token(sb)).json()) as { access_token: string }).access_token;
}

async function get(sb: OkkiSandbox, path: string, auth: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${sb.url}${path}`, { headers: { Authorization: auth } });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

describe('OKKI sandbox', () => {
  let sb: OkkiSandbox;
  let auth: string;
  beforeAll(async () => {
    sb = await startOkkiSandbox({ customers: 250, removedCustomers: 5, seed: 7 });
    auth = await accessToken(sb);
  });
  afterAll(() => sb.stop());

  describe('token endpoint', () => {
    it('issues a JWT-like bearer token with expires_in 28799, from a JSON or a form body', async () => {
      for (const form of [false, true]) {
        const res = await token(sb, {}, form);
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body.token_type).toBe('Bearer');
        expect(body.expires_in).toBe(28799);
        expect(String(body.access_token).split('.')).toHaveLength(3);
      }
    });

    it('answers bad credentials with HTTP 401 invalid_client', async () => {
      const res = await token(sb, { client_secret: 'wrong' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: 'invalid_client',
        error_description: 'Client authentication failed',
        message: 'Client authentication failed',
      });
    });

    it('rejects other grant types', async () => {
      const res = await token(sb, { grant_type: 'password' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('unsupported_grant_type');
    });
  });

  describe('authorisation', () => {
    it('accepts the raw token and "Bearer <token>"', async () => {
      expect((await get(sb, '/v1/company/list?count=1', auth)).status).toBe(200);
      expect((await get(sb, '/v1/company/list?count=1', `Bearer ${auth}`)).status).toBe(200);
    });

    it('answers a missing or unknown token with HTTP 401 access_denied', async () => {
      for (const a of ['', 'not-a-token']) {
        const res = await get(sb, '/v1/company/list', a);
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('access_denied');
      }
    });

    it('answers a token without the company scope with "no permission company scopes"', async () => {
      const res = await token(sb, { scope: 'user' });
      const t = ((await res.json()) as { access_token: string }).access_token;
      const list = await get(sb, '/v1/company/list', t);
      expect(list.body.message).toBe('no permission company scopes');
    });
  });

  describe('GET /v1/company/list', () => {
    it('pages by page number with totalItem, most recently updated first (then the larger company_id)', async () => {
      const p1 = await get(sb, '/v1/company/list?start_index=1&count=100', auth);
      const p3 = await get(sb, '/v1/company/list?start_index=3&count=100', auth);
      expect(p1.body).toMatchObject({ code: 200, message: 'success', data: { totalItem: 250, count: 100 } });
      expect(p1.body.now).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(p3.body.data.list).toHaveLength(50);
      const rows = [...p1.body.data.list, ...p3.body.data.list].map((r: { company_id: unknown; update_time: string }) => [r.update_time, Number(r.company_id)] as const);
      const sorted = [...rows].sort(([ta, ia], [tb, ib]) => (ta === tb ? ib - ia : ta < tb ? 1 : -1));
      expect(rows).toEqual(sorted);
      expect(rows[0]![0] > rows.at(-1)![0]).toBe(true);
      // companies() is in list order
      expect(sb.companies().slice(0, 100).map((c) => c.company_id)).toEqual(p1.body.data.list.map((r: { company_id: unknown }) => Number(r.company_id)));
    });

    it('defaults to 20 per page and clamps count at 100', async () => {
      expect((await get(sb, '/v1/company/list', auth)).body.data.list).toHaveLength(20);
      const big = await get(sb, '/v1/company/list?count=500', auth);
      expect(big.body.data.list).toHaveLength(100);
      expect(big.body.data.totalItem).toBe(250);
    });

    it('sends list rows with the list fields and OKKI\'s id quirks', async () => {
      const { body } = await get(sb, '/v1/company/list?count=100', auth);
      const rows = body.data.list as Record<string, unknown>[];
      expect(Object.keys(rows[0]!).sort()).toEqual(
        ['company_id', 'user_id', 'name', 'short_name', 'serial_id', 'order_time', 'create_time', 'update_time', 'create_user', 'last_edit_user', 'archive_type', 'edit_time'].sort(),
      );
      expect(rows.some((r) => typeof r.company_id === 'number')).toBe(true);
      expect(rows.some((r) => typeof r.company_id === 'string')).toBe(true);
      expect(rows.every((r) => typeof r.create_user === 'number' && typeof r.last_edit_user === 'string')).toBe(true);
      expect(rows.some((r) => r.order_time === '1970-01-01 00:00:00')).toBe(true);
      expect(rows.some((r) => r.serial_id === '')).toBe(true);
      expect(rows.some((r) => r.short_name === '')).toBe(true);
    });

    it('filters by pool (all), group and time window', async () => {
      const all = sb.companies();
      const priv = await get(sb, '/v1/company/list?all=0&count=1', auth);
      const pub = await get(sb, '/v1/company/list?all=2&count=1', auth);
      expect(priv.body.data.totalItem).toBe(all.filter((c) => (c.user_id as number[]).length > 0).length);
      expect(pub.body.data.totalItem).toBe(all.filter((c) => (c.user_id as number[]).length === 0).length);
      expect(priv.body.data.totalItem + pub.body.data.totalItem).toBe(250);

      const group = await get(sb, '/v1/company/list?group_id=3715627&count=100', auth);
      expect(group.body.data.totalItem).toBe(all.filter((c) => Number(c.group_id) === 3715627).length);

      const times = all.map((c) => String(c.update_time)).sort();
      const from = times[100]!;
      const to = times[199]!;
      const win = await get(sb, `/v1/company/list?time_type=1&start_time=${encodeURIComponent(from)}&end_time=${encodeURIComponent(to)}&count=100`, auth);
      expect(win.body.data.totalItem).toBe(times.filter((t) => t >= from && t <= to).length);
      expect(win.body.data.list.every((r: { update_time: string }) => r.update_time >= from && r.update_time <= to)).toBe(true);

      const created = all.map((c) => String(c.create_time)).sort();
      const day = created[50]!.slice(0, 10);
      const byDay = await get(sb, `/v1/company/list?time_type=2&start_time=${day}&end_time=${day}&count=100`, auth);
      expect(byDay.body.data.totalItem).toBe(created.filter((t) => t.startsWith(day)).length);
    });

    it('answers a malformed window with code 400 inside HTTP 200', async () => {
      const res = await get(sb, '/v1/company/list?start_time=yesterday', auth);
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(400);
    });

    it('lists only deleted customers with removed=1', async () => {
      const res = await get(sb, '/v1/company/list?removed=1&count=100', auth);
      expect(res.body.data.totalItem).toBe(5);
      const live = new Set(sb.companies().map((c) => String(c.company_id)));
      expect(res.body.data.list.every((r: { company_id: unknown }) => !live.has(String(r.company_id)))).toBe(true);
    });
  });

  describe('GET /v1/company/info', () => {
    it('answers in the shape of the official example', async () => {
      const id = sb.companies()[3]!.company_id;
      const { body } = await get(sb, `/v1/company/info?company_id=${id}`, auth);
      expect(body.code).toBe(200);
      const d = body.data;
      expect(d.company_id).toBe(id);
      expect(d.tel).toHaveLength(2);
      expect(d.trail_status).toHaveProperty('status_name');
      expect(Array.isArray(d.owner)).toBe(true);
      expect(Array.isArray(d.customers)).toBe(true);
      expect(d.next_move_to_public_date).toBe('1970-01-01');
      expect(typeof d.create_user).toBe('number');
      expect(typeof d.last_edit_user).toBe('string');
    });

    it('varies realistically across customers', () => {
      const all = sb.companies();
      const contacts = all.flatMap((c) => c.customers as Record<string, unknown>[]);
      expect(all.some((c) => (c.tel as string[])[0] === '' && (c.tel as string[])[1] !== '')).toBe(true);
      expect(all.some((c) => (c.tel as string[])[0] !== '')).toBe(true);
      expect(all.some((c) => (c.customers as Record<string, unknown>[]).length > 0 && (c.customers as Record<string, unknown>[]).every((k) => Number(k.main_customer_flag) === 0))).toBe(true);
      expect(contacts.some((k) => /@/.test(String(k.email)))).toBe(true);
      expect(contacts.some((k) => typeof k.company_id === 'string')).toBe(true);
      expect(all.some((c) => c.homepage === '')).toBe(true);
      expect(all.every((c) => /有限(责任)?公司|分公司/.test(String(c.name)))).toBe(true);
    });

    it('finds a customer by serial_id too', async () => {
      const c = sb.companies().find((x) => x.serial_id !== '')!;
      const { body } = await get(sb, `/v1/company/info?serial_id=${encodeURIComponent(String(c.serial_id))}`, auth);
      expect(body.data.company_id).toBe(c.company_id);
    });

    it('answers an unknown id with HTTP 200 and code 404', async () => {
      const res = await get(sb, '/v1/company/info?company_id=1', auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: 404, message: 'Not Found Resource', now: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/), data: [] });
    });
  });

  it('answers an unknown path with HTTP 404 JSON', async () => {
    const res = await get(sb, '/v1/nothing/here', auth);
    expect(res.status).toBe(404);
    expect(typeof res.body).toBe('object');
  });

  it('generates the same unique names from the same seed, and different ones from another seed', async () => {
    const again = await startOkkiSandbox({ customers: 250, removedCustomers: 5, seed: 7 });
    const other = await startOkkiSandbox({ customers: 250, seed: 8 });
    try {
      const names = sb.companies().map((c) => c.name);
      expect(new Set(names).size).toBe(250);
      expect(again.companies().map((c) => c.name)).toEqual(names);
      expect(other.companies().map((c) => c.name)).not.toEqual(names);
    } finally {
      await again.stop();
      await other.stop();
    }
  });

  it('generates 100k unique customers quickly', async () => {
    const started = Date.now();
    const big = await startOkkiSandbox({ customers: 100_000 });
    try {
      // over 5 s on a 2-core machine under a load of 24; a quadratic step would take minutes
      expect(Date.now() - started).toBeLessThan(15_000);
      const t = await accessToken(big);
      const last = await get(big, '/v1/company/list?start_index=1000&count=100', t);
      expect(last.body.data.totalItem).toBe(100_000);
      expect(last.body.data.list).toHaveLength(100);
      expect(new Set(big.companies().map((c) => c.name)).size).toBe(100_000);
    } finally {
      await big.stop();
    }
  });

  describe('mutations', () => {
    it('updateCompany bumps update_time to now; addCompany puts it first; deleteCompany moves to removed', async () => {
      let clock = Date.UTC(2025, 0, 10, 2, 0, 0); // 2025-01-10 10:00:00 China time
      const s = await startOkkiSandbox({ customers: 10, now: () => clock });
      try {
        const id = s.companies()[2]!.company_id as number;
        clock += 60_000;
        const updated = s.updateCompany(id, { name: '新名称有限公司', homepage: 'https://www.example.cn' });
        expect(updated.update_time).toBe('2025-01-10 10:01:00');
        expect(updated.name).toBe('新名称有限公司');
        expect(s.companies()[0]?.company_id).toBe(id); // the list is most recently updated first

        const added = s.addCompany({ name: '杭州新增测试有限公司' });
        expect(added.create_time).toBe('2025-01-10 10:01:00');
        expect(s.companies()).toHaveLength(11);
        expect(s.companies()[0]?.company_id).toBe(added.company_id);

        expect(s.deleteCompany(id)).toBe(true);
        expect(s.deleteCompany(id)).toBe(false);
        expect(s.companies()).toHaveLength(10);
        expect(s.removedCompanies().map((c) => c.company_id)).toEqual([id]);
      } finally {
        await s.stop();
      }
    });
  });

  describe('clock', () => {
    it('puts now, from its own clock, in every envelope: list, detail, not found, bad query, missing scope, faults', async () => {
      const base = Date.UTC(2026, 0, 21, 8, 2, 22); // 2026-01-21 16:02:22 China time
      const s = await startOkkiSandbox({ customers: 3, now: () => base, clockOffsetMs: -3600_000 });
      try {
        const t = await accessToken(s);
        const id = s.companies()[0]!.company_id;
        const bodies = [
          (await get(s, '/v1/company/list', t)).body,
          (await get(s, `/v1/company/info?company_id=${id}`, t)).body,
          (await get(s, '/v1/company/info?company_id=1', t)).body,
          (await get(s, '/v1/company/list?start_time=yesterday', t)).body,
        ];
        const userScope = ((await (await token(s, { scope: 'user' })).json()) as { access_token: string }).access_token;
        bodies.push((await get(s, '/v1/company/list', userScope)).body);
        s.setFaults({ rate: 1, kinds: ['500'] });
        bodies.push((await get(s, '/v1/company/list', t)).body);
        s.setFaults({ kinds: ['429'] });
        bodies.push((await get(s, '/v1/company/list', t)).body);
        s.setFaults({ rate: 0 });
        expect(bodies.map((b) => [b.code, b.now])).toEqual([200, 200, 404, 400, 403, 500, 429].map((code) => [code, '2026-01-21 15:02:22']));
        s.setClockOffset(0);
        expect((await get(s, '/v1/company/list', t)).body.now).toBe('2026-01-21 16:02:22');
        expect(s.now()).toBe(base);
      } finally {
        await s.stop();
      }
    });
  });

  describe('changes while clients read', () => {
    const clock = Date.UTC(2026, 0, 21, 8, 0, 0);
    const ids = (s: OkkiSandbox) => s.companies().map((c) => c.company_id as number);

    it('edits, adds, deletes, moves and backdates customers, each as its kind says', async () => {
      const s = await startOkkiSandbox({ customers: 30, removedCustomers: 2, now: () => clock });
      try {
        const before = ids(s);
        const edit = s.mutate('edit')!;
        expect(ids(s)[0]).toBe(edit.company_id); // moved to the front
        expect(s.company(edit.company_id)).toMatchObject({ update_time: '2026-01-21 16:00:00', address: expect.stringMatching(/（变更1）$/) });

        const add = s.mutate('add')!;
        expect(ids(s)[0]).toBe(add.company_id);
        expect(before).not.toContain(add.company_id);

        const del = s.mutate('delete')!;
        expect(s.company(del.company_id)).toBeUndefined();
        expect(s.removedCompanies()[0]!.company_id).toBe(del.company_id); // most recently deleted first
        expect(s.removedCompanies()).toHaveLength(3);

        const order = ids(s);
        const unchanged = s.companies();
        const shift = s.mutate('shift')!;
        expect(ids(s).sort()).toEqual([...order].sort());
        expect(s.company(shift.company_id)).toEqual(unchanged.find((c) => c.company_id === shift.company_id));

        const back = s.mutate('backdate')!;
        expect(String(s.company(back.company_id)!.update_time) < '2026-01-21 16:00:00').toBe(true);

        expect(s.mutationLog.map((m) => m.kind)).toEqual(['edit', 'add', 'delete', 'shift', 'backdate']);
        expect(s.counters.mutations).toBe(5);
        expect(s.companies()).toHaveLength(30);
      } finally {
        await s.stop();
      }
    });

    it('changes on demand before the requests it is told to, up to max', async () => {
      const s = await startOkkiSandbox({ customers: 40, now: () => clock, mutations: { rate: 1, kinds: ['delete'], on: 'list', max: 3 } });
      try {
        const t = await accessToken(s);
        const id = s.companies()[0]!.company_id;
        await get(s, `/v1/company/info?company_id=${id}`, t);
        expect(s.counters.mutations).toBe(0); // not before a detail call
        const totals: number[] = [];
        for (let i = 0; i < 5; i++) totals.push((await get(s, '/v1/company/list?count=1', t)).body.data.totalItem);
        expect(totals).toEqual([39, 38, 37, 37, 37]);
        expect(s.counters.mutations).toBe(3);

        s.setMutations({ rate: 1, kinds: ['edit'], on: 'info' });
        await get(s, '/v1/company/list?count=1', t);
        expect(s.counters.mutations).toBe(3);
        await get(s, `/v1/company/info?company_id=${id}`, t);
        expect(s.mutationLog.at(-1)?.kind).toBe('edit');
        s.setMutations({ rate: 0 });
        await get(s, `/v1/company/info?company_id=${id}`, t);
        expect(s.counters.mutations).toBe(4);
        expect(() => s.setMutations({ rate: 2 })).toThrow(/within 0..1/);
      } finally {
        await s.stop();
      }
    });

    it('edits the fields a sync maps with edit: "fields", emptying some of them but never the name', async () => {
      const s = await startOkkiSandbox({ customers: 60, seed: 6, now: () => clock, mutations: { rate: 0, edit: 'fields' } });
      try {
        const mapped = ['name', 'short_name', 'homepage', 'address', 'tel', 'customers'];
        const seen = new Set<string>();
        let emptied = 0;
        for (let i = 0; i < 60; i++) {
          const before = new Map(s.companies().map((c) => [c.company_id, c]));
          const edit = s.mutate('edit')!;
          expect(edit.fields!.length).toBeGreaterThanOrEqual(1);
          expect(edit.fields!.length).toBeLessThanOrEqual(3);
          const was = before.get(edit.company_id)!;
          const now = s.company(edit.company_id)!;
          expect(now.update_time).toBe('2026-01-21 16:00:00');
          for (const f of mapped.filter((f) => f !== 'customers')) {
            if (!edit.fields!.includes(f)) expect(now[f], `${f} not edited`).toEqual(was[f]);
          }
          for (const f of edit.fields!) {
            expect(mapped).toContain(f);
            seen.add(f);
          }
          for (const f of edit.emptied ?? []) {
            expect(edit.fields).toContain(f);
            const contacts = now.customers as { email: string; main_customer_flag: number | string }[];
            const main = contacts.find((k) => Number(k.main_customer_flag) === 1) ?? contacts[0];
            expect(f === 'tel' ? (now.tel as string[]).join('') : f === 'customers' ? main?.email : now[f], `${f} emptied`).toBe('');
            emptied++;
          }
          if (edit.fields!.includes('name')) expect(now.name).toBe(`${String(was.name).replace(/（改\d+）$/, '')}（改${i + 1}）`);
          if (edit.fields!.includes('customers')) expect(now.customers).not.toEqual(was.customers);
        }
        expect([...seen].sort()).toEqual([...mapped].sort());
        expect(emptied).toBeGreaterThan(3);
        const names = s.companies().map((c) => c.name);
        expect(new Set(names).size).toBe(names.length);
        // by default an edit only marks the address
        s.setMutations({ rate: 0 });
        const plain = s.mutate('edit')!;
        expect(plain.fields).toEqual(['address']);
        expect(s.company(plain.company_id)!.address).toMatch(/（变更61）$/);
      } finally {
        await s.stop();
      }
    });

    it('makes the same changes for the same seed', async () => {
      const a = await startOkkiSandbox({ customers: 50, seed: 4, now: () => clock });
      const b = await startOkkiSandbox({ customers: 50, seed: 4, now: () => clock });
      try {
        for (const kind of ['edit', 'delete', 'shift', 'edit'] as const) {
          a.mutate(kind);
          b.mutate(kind);
        }
        expect(a.mutationLog).toEqual(b.mutationLog);
        expect(a.companies()).toEqual(b.companies());
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  });

  describe('faults and expiry', () => {
    it('expires a token after tokenTtlCalls authorised calls', async () => {
      const s = await startOkkiSandbox({ customers: 3, tokenTtlCalls: 2 });
      try {
        const t = await accessToken(s);
        expect((await get(s, '/v1/company/list', t)).status).toBe(200);
        expect((await get(s, '/v1/company/list', t)).status).toBe(200);
        const third = await get(s, '/v1/company/list', t);
        expect(third.status).toBe(401);
        expect(third.body.error).toBe('access_denied');
        expect(s.counters).toMatchObject({ token: 1, list: 2, unauthorized: 1, total: 4 });
      } finally {
        await s.stop();
      }
    });

    it('expires a token after tokenTtlSeconds on its clock, and can omit expires_in', async () => {
      let clock = Date.now();
      const s = await startOkkiSandbox({ customers: 1, tokenTtlSeconds: 60, omitExpiresIn: true, now: () => clock });
      try {
        const res = (await (await token(s)).json()) as Record<string, unknown>;
        expect(res).not.toHaveProperty('expires_in');
        const t = String(res.access_token);
        expect((await get(s, '/v1/company/list', t)).status).toBe(200);
        clock += 61_000;
        expect((await get(s, '/v1/company/list', t)).status).toBe(401);
      } finally {
        await s.stop();
      }
    });

    it('refuses JSON token bodies when asked to, but takes the form', async () => {
      const s = await startOkkiSandbox({ rejectJsonTokenBody: true });
      try {
        expect((await token(s)).status).toBe(400);
        expect((await token(s, {}, true)).status).toBe(200);
      } finally {
        await s.stop();
      }
    });

    it('injects each fault kind', async () => {
      const s = await startOkkiSandbox({ customers: 3, faultRate: 1 });
      try {
        const t = await accessToken(s);
        const seen: Record<string, { status: number; type: string; retryAfter: string | null; body: string }> = {};
        for (const kind of ['500', '502', '503', '429', 'html', 'truncated'] as const) {
          s.setFaults({ kinds: [kind] });
          const res = await fetch(`${s.url}/v1/company/list`, { headers: { Authorization: t } });
          seen[kind] = { status: res.status, type: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), body: await res.text() };
        }
        expect(seen['500']?.status).toBe(500);
        expect(seen['502']).toMatchObject({ status: 502, type: expect.stringContaining('text/html') });
        expect(seen['503']?.status).toBe(503);
        expect(seen['429']).toMatchObject({ status: 429, retryAfter: '0' });
        expect(seen.html).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
        expect(seen.truncated?.status).toBe(200);
        expect(() => JSON.parse(seen.truncated!.body)).toThrow();
        expect(s.counters.faults).toBe(6);
        // Token calls are never faulted.
        expect((await token(s)).status).toBe(200);
      } finally {
        await s.stop();
      }
    });

    it('adds latency', async () => {
      const s = await startOkkiSandbox({ latencyMs: 60 });
      try {
        const t0 = Date.now();
        await token(s);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
        s.setLatency(0);
      } finally {
        await s.stop();
      }
    });
  });
});
