import { afterEach, describe, expect, it } from 'vitest';
import { SchemeError, type SourceRecord } from '@qiao/core';
import { DETAIL_NOT_FOUND, formatChinaTime, incrementalWindow } from '@qiao/connector-okki';
import { startOkkiSandbox, type OkkiSandbox, type OkkiSandboxOptions } from '@qiao/connector-okki/sandbox';
import { collect, fastRetry, readContext, wire } from './helpers.js';

const sandboxes: OkkiSandbox[] = [];
async function sandbox(options: OkkiSandboxOptions = {}): Promise<OkkiSandbox> {
  const s = await startOkkiSandbox(options);
  sandboxes.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.stop()));
});

const keys = (records: SourceRecord[]) => records.map((r) => r.key);
const liveIds = (s: OkkiSandbox) => s.companies().map((c) => String(c.company_id));
const listQueries = (s: OkkiSandbox) => s.requestLog.filter((r) => r.path === '/v1/company/list').map((r) => r.query);

describe('company stream: paging', () => {
  it('reads 45 customers in 3 pages of 20, each once, in list order, and reports the total once', async () => {
    const s = await sandbox({ customers: 45 });
    const { stream } = wire(s);
    const totals: number[] = [];
    const records = await collect(stream, readContext({ params: { count: 20 }, onTotal: (n) => totals.push(n) }));
    expect(records).toHaveLength(45);
    expect(keys(records)).toEqual(liveIds(s));
    expect(new Set(keys(records)).size).toBe(45);
    expect(totals).toEqual([45]);
    // the read, then one re-list pass that finds nothing new
    expect(listQueries(s).map((q) => q.start_index)).toEqual(['1', '2', '3', '1', '2', '3']);
    expect(s.counters.list).toBe(6);
    expect(records.every((r) => r.stream === 'company' && typeof r.cursor === 'string')).toBe(true);
  });

  it('stops on totalItem when the last page is full (40 customers, 2 pages, no empty third call)', async () => {
    const s = await sandbox({ customers: 40 });
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { count: 20 } }));
    expect(records).toHaveLength(40);
    expect(listQueries(s).map((q) => q.start_index)).toEqual(['1', '2', '1', '2']);
  });

  it('reads everything when count exceeds what OKKI serves (500 asked, 100 served)', async () => {
    const s = await sandbox({ customers: 250 });
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { count: 500 } }));
    expect(records).toHaveLength(250);
    expect(keys(records)).toEqual(liveIds(s));
    expect(listQueries(s).map((q) => [q.start_index, q.count])).toEqual([
      ['1', '500'],
      ['2', '500'],
      ['3', '500'],
      ['1', '500'],
      ['2', '500'],
      ['3', '500'],
    ]);
  });

  it('takes params as digit strings too (the platform typed them as string)', async () => {
    const s = await sandbox({ customers: 30 });
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { start_index: '1', count: '10', all: '1' } }));
    expect(records).toHaveLength(30);
    expect(listQueries(s)[0]).toMatchObject({ start_index: '1', count: '10', all: '1' });
  });

  it('rejects a nonsensical page size before any request', async () => {
    const s = await sandbox({ customers: 3 });
    const { stream } = wire(s);
    await expect(collect(stream, readContext({ params: { count: 'lots' } }))).rejects.toBeInstanceOf(SchemeError);
    expect(s.counters.total).toBe(0);
  });

  it('honours limit without reading further pages', async () => {
    const s = await sandbox({ customers: 100 });
    const { stream } = wire(s);
    const totals: number[] = [];
    const records = await collect(stream, readContext({ params: { count: 20 }, limit: 25, onTotal: (n) => totals.push(n) }));
    expect(records).toHaveLength(25);
    expect(totals).toEqual([25]);
    expect(s.counters.list).toBe(2);
  });

  it('honours the abort signal', async () => {
    const s = await sandbox({ customers: 100 });
    const { stream } = wire(s);
    const controller = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const r of stream.read(readContext({ params: { count: 10 }, detail: true, signal: controller.signal }))) {
        seen.push(r.key);
        if (seen.length === 15) controller.abort();
      }
    })();
    await expect(run).rejects.toThrow();
    expect(seen).toHaveLength(15);
  });
});

describe('company stream: details', () => {
  it('merges each row with its detail (detail wins) and yields in list order', async () => {
    const s = await sandbox({ customers: 37 });
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { count: 10 }, detail: true }));
    expect(keys(records)).toEqual(liveIds(s));
    expect(s.counters.info).toBe(37);
    const detailed = records[0]!.data;
    expect(detailed).toHaveProperty('customers');
    expect(detailed).toHaveProperty('tel');
    expect(Array.isArray(detailed.user_id)).toBe(true);
  });

  it('runs details in parallel, bounded by the limiter\'s concurrency', async () => {
    const s = await sandbox({ customers: 40, latencyMs: 15 });
    const { stream, ctx } = wire(s, { limits: { concurrency: 4 } });
    let maxRunning = 0;
    const timer = setInterval(() => (maxRunning = Math.max(maxRunning, ctx.limiter.stats.running)), 2);
    try {
      const records = await collect(stream, readContext({ params: { count: 20 }, detail: true }));
      expect(records).toHaveLength(40);
    } finally {
      clearInterval(timer);
    }
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(4);
  });

  it('yields a customer deleted between list and detail as skipped, with the reason', async () => {
    const s = await sandbox({ customers: 30 });
    const victim = String(s.companies()[12]!.company_id);
    s.onRequest = (r) => {
      if (r.path === '/v1/company/info' && r.query.company_id === victim) s.deleteCompany(victim);
    };
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { count: 20 }, detail: true }));
    expect(records).toHaveLength(30);
    const skipped = records.filter((r) => r.skip);
    expect(skipped).toHaveLength(1);
    const [r] = skipped;
    expect(r!.key).toBe(victim);
    expect(r!.stream).toBe('company');
    expect(r!.skip?.reason).toBe(DETAIL_NOT_FOUND);
    expect(r!.skip?.message).toMatch(/deleted in OKKI between list and detail/);
    expect(r!.data.name).toBeTruthy();
    expect(r!.data.company_id).toBe(victim);
  });
});

describe('company stream: faults and tokens', () => {
  it('re-authenticates when the token expires mid-sync; nothing lost or repeated; refreshes shared', async () => {
    const ttl = 10;
    const s = await sandbox({ customers: 95, tokenTtlCalls: ttl });
    const { stream, client } = wire(s, { limits: { concurrency: 4 } });
    const records = await collect(stream, readContext({ params: { count: 20 }, detail: true }));
    expect(keys(records)).toEqual(liveIds(s));
    expect(records.every((r) => !r.skip)).toBe(true);
    const served = s.counters.list + s.counters.info;
    expect(served).toBe(2 * 5 + 95); // two list passes of 5 pages, one detail each
    expect(s.counters.unauthorized).toBeGreaterThan(0);
    // Every token served exactly `ttl` calls: one refresh per expiry, however many requests saw it.
    expect(s.counters.token).toBe(Math.ceil(served / ttl));
    expect(client.tokensIssued).toBe(s.counters.token);
  });

  it('keeps the other detail slots busy while one detail waits out its backoff (no head-of-line blocking)', async () => {
    const s = await sandbox({ customers: 100, faultRate: 0.1, faultKinds: ['503'], seed: 4 });
    const { stream } = wire(s, { limits: { concurrency: 4 }, retry: { ...fastRetry, baseDelayMs: 300, maxDelayMs: 300 } });
    const records = await collect(stream, readContext({ params: { count: 100 }, detail: true }));
    expect(keys(records)).toEqual(liveIds(s));
    const info = s.requestLog.filter((r) => r.path === '/v1/company/info');
    const fault = info.findIndex((r) => r.status === 503);
    expect(fault).toBeGreaterThanOrEqual(0);
    expect(fault).toBeLessThan(50);
    const id = info[fault]!.query.company_id;
    const retry = info.findIndex((r, i) => i > fault && r.query.company_id === id);
    // Four slots: with the slot refilled only when the oldest detail is yielded, at most 3 + 3 others
    // could run while it waits; refilled as soon as any detail settles, the others keep going.
    const others = new Set(info.slice(fault + 1, retry).map((r) => r.query.company_id));
    expect(others.size).toBeGreaterThan(10);
  });

  it('starts the next page\'s details while the last of a page is slow (the window spans pages)', async () => {
    const s = await sandbox({ customers: 30, latencyMs: 5 });
    const ids = liveIds(s);
    const slow = ids[9]!; // the last customer of the first page of 10
    s.extraLatencyMs = (r) => (r.path === '/v1/company/info' && r.query.company_id === slow ? 400 : 0);
    const { stream } = wire(s, { limits: { concurrency: 4 } });
    const records = await collect(stream, readContext({ params: { count: 10 }, detail: true }));
    expect(keys(records)).toEqual(ids); // still in list order
    // answered in this order: the second page's details did not wait for the slow one
    const answered = s.requestLog.filter((r) => r.path === '/v1/company/info').map((r) => r.query.company_id!);
    const beforeSlow = answered.slice(0, answered.indexOf(slow));
    expect(beforeSlow.filter((id) => ids.indexOf(id) >= 10).length).toBeGreaterThanOrEqual(10);
  });

  it('retries 5xx and 429 and reads every record once', async () => {
    const s = await sandbox({ customers: 120, faultRate: 0.25, faultKinds: ['500', '503', '429'], seed: 11 });
    const { stream, client } = wire(s);
    const records = await collect(stream, readContext({ params: { count: 25 }, detail: true }));
    expect(keys(records)).toEqual(liveIds(s));
    expect(s.counters.faults).toBeGreaterThan(10);
    expect(client.http.stats.retries).toBe(s.counters.faults);
  });

  it('survives every fault kind, gateway pages and cut-off bodies included', async () => {
    const s = await sandbox({ customers: 60, faultRate: 0.3, faultKinds: ['500', '502', '503', '429', 'html', 'truncated'], seed: 5 });
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { count: 20 }, detail: true }));
    expect(keys(records)).toEqual(liveIds(s));
    expect(s.counters.faults).toBeGreaterThan(5);
  });
});

describe('company stream: incremental', () => {
  it('computes the window in UTC+8 as YYYY-MM-DD HH:MM:SS whatever the machine timezone', () => {
    const saved = process.env.TZ;
    try {
      const now = Date.UTC(2024, 2, 1, 4, 0, 0); // 2024-03-01 12:00:00 in China
      const expected = { start_time: '2024-02-29 23:55:00', end_time: '2024-03-01 12:00:00', time_type: 1 };
      for (const tz of ['UTC', 'America/Los_Angeles', 'Asia/Kolkata', 'Asia/Shanghai']) {
        process.env.TZ = tz;
        expect(incrementalWindow('2024-03-01 00:05:00', 10 * 60_000, now)).toEqual(expected);
      }
      expect(formatChinaTime(Date.UTC(2023, 11, 31, 16, 0, 0))).toBe('2024-01-01 00:00:00');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('rejects a cursor that is not a time', () => {
    expect(() => incrementalWindow('last tuesday', 0)).toThrow(SchemeError);
  });

  it('asks for update_time from cursor minus look-back to now, and gets only what changed in it', async () => {
    const s = await sandbox({ customers: 200 });
    const times = s.companies().map((c) => String(c.update_time)).sort();
    const cursor = times[150]!; // the 50 most recently updated, give or take the look-back
    const lookbackMs = 6 * 3600_000;
    const { stream } = wire(s);
    const before = formatChinaTime(Date.now());
    const records = await collect(stream, readContext({ params: { count: 20 }, cursor, lookbackMs }));
    const after = formatChinaTime(Date.now());

    const [y, mo, d, h, mi, sec] = cursor.split(/[- :]/).map(Number) as [number, number, number, number, number, number];
    const start = formatChinaTime(Date.UTC(y, mo - 1, d, h - 8, mi, sec) - lookbackMs);
    const [q, ...later] = listQueries(s);
    expect(q!.start_time).toBe(start);
    // the first page asks without an end; its `now` ends the window of every later page and pass
    expect(q!.end_time).toBeUndefined();
    expect(later.length).toBeGreaterThan(2);
    for (const l of later) {
      expect(l.start_time).toBe(start);
      expect(l.end_time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(l.end_time! >= before && l.end_time! <= after).toBe(true);
      expect(l.end_time).toBe(later[0]!.end_time);
    }
    expect(q!.time_type).toBe('1');

    const expected = s.companies().filter((c) => String(c.update_time) >= start).map((c) => String(c.company_id));
    expect(expected.length).toBeGreaterThanOrEqual(50);
    expect(expected.length).toBeLessThan(200);
    expect(keys(records)).toEqual(expected);
    expect(records.every((r) => r.cursor! >= start)).toBe(true);
  });

  it('picks up a change made after the last cursor', async () => {
    const s = await sandbox({ customers: 50 });
    const { stream } = wire(s);
    const full = await collect(stream, readContext({ params: { count: 20 } }));
    const cursor = full.map((r) => r.cursor!).sort().at(-1)!;
    const id = String(s.companies()[7]!.company_id);
    s.updateCompany(id, { remark: '已更新' });
    const changed = await collect(stream, readContext({ params: { count: 20 }, cursor, lookbackMs: 0 }));
    expect(keys(changed)).toContain(id);
    expect(changed.length).toBeLessThanOrEqual(2);
  });
});

describe('company stream: data', () => {
  it('yields ids as strings and 1970 sentinels as null', async () => {
    const s = await sandbox({ customers: 60 });
    const { stream } = wire(s);
    const list = await collect(stream, readContext({ params: { count: 30 } }));
    const detailed = await collect(stream, readContext({ params: { count: 30 }, detail: true }));
    for (const r of [...list, ...detailed]) {
      expect(typeof r.key).toBe('string');
      expect(r.data.company_id).toBe(r.key);
      expect(typeof r.data.create_user).toBe('string');
      expect(typeof r.data.last_edit_user).toBe('string');
      expect(Array.isArray(r.data.user_id) && (r.data.user_id as unknown[]).every((u) => typeof u === 'string')).toBe(true);
      expect(JSON.stringify(r.data)).not.toContain('1970-01-01');
    }
    expect(list.some((r) => r.data.order_time === null)).toBe(true);
    for (const r of detailed) {
      expect(typeof r.data.group_id).toBe('string');
      expect(r.data.next_move_to_public_date).toBeNull();
      expect((r.data.tel as unknown[]).every((p) => typeof p === 'string')).toBe(true);
      for (const c of r.data.customers as Record<string, unknown>[]) {
        expect(typeof c.customer_id).toBe('string');
        expect(typeof c.company_id).toBe('string');
        expect([0, 1]).toContain(c.main_customer_flag);
      }
    }
  });

  it('passes removed=1 through and yields only deleted customers', async () => {
    const s = await sandbox({ customers: 40, removedCustomers: 6 });
    const gone = String(s.companies()[5]!.company_id);
    s.deleteCompany(gone);
    const { stream } = wire(s);
    const records = await collect(stream, readContext({ params: { removed: 1, count: 20 } }));
    const live = new Set(liveIds(s));
    expect(records).toHaveLength(7);
    expect(keys(records)).toContain(gone);
    expect(records.every((r) => !live.has(r.key))).toBe(true);
    expect(listQueries(s)[0]?.removed).toBe('1');
  });

  it('passes all and group_id through', async () => {
    const s = await sandbox({ customers: 80 });
    const { stream } = wire(s);
    const pub = await collect(stream, readContext({ params: { all: 2, count: 50 } }));
    expect(keys(pub)).toEqual(s.companies().filter((c) => (c.user_id as unknown[]).length === 0).map((c) => String(c.company_id)));
    const grouped = await collect(stream, readContext({ params: { group_id: '3715628' } }));
    expect(keys(grouped)).toEqual(s.companies().filter((c) => String(c.group_id) === '3715628').map((c) => String(c.company_id)));
  });
});
