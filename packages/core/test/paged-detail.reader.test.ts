import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { READ_TOTAL_MISMATCH, READ_UNSETTLED, readPagedDetail, type ListPage, type PagedDetailItem, type PagedDetailOptions, type PassReport } from '../src/index.js';

interface Row {
  id?: number;
  name: string;
}

/** A list of `count` rows served `size` per page, numbered from 1, with the pages asked for. */
function lister(count: number, size: number, extra: (page: number) => Partial<ListPage<Row>> = () => ({})) {
  const rows: Row[] = Array.from({ length: count }, (_, i) => ({ id: i + 1, name: `客户 ${i + 1}` }));
  const asked: number[] = [];
  const fetchPage = async (page: number): Promise<ListPage<Row>> => {
    asked.push(page);
    await sleep(1);
    return { rows: rows.slice((page - 1) * size, page * size), ...extra(page) };
  };
  return { rows, asked, fetchPage };
}

const keyOf = (row: Row) => (row.id === undefined ? undefined : String(row.id));

async function collect<R, D>(options: PagedDetailOptions<R, D>): Promise<PagedDetailItem<R, D>[]> {
  const out: PagedDetailItem<R, D>[] = [];
  for await (const item of readPagedDetail(options)) out.push(item);
  return out;
}

describe('readPagedDetail: paging', () => {
  it('yields rows as listed without fetchDetail, and stops at an empty page', async () => {
    const { rows, asked, fetchPage } = lister(25, 10);
    const items = await collect({ fetchPage, keyOf, signal: new AbortController().signal });
    expect(items).toEqual(rows.map((row) => ({ key: String(row.id), row })));
    expect(asked).toEqual([1, 2, 3, 4]); // the short third page is not `last`: only the empty fourth ends it
  });

  it('stops at `last`, or once `total` rows are listed, and starts at firstPage', async () => {
    const byLast = lister(30, 10, (page) => ({ last: page === 2 }));
    expect(await collect({ fetchPage: byLast.fetchPage, keyOf, signal: new AbortController().signal })).toHaveLength(20);
    expect(byLast.asked).toEqual([1, 2]);

    const byTotal = lister(30, 10, () => ({ total: 30 }));
    const totals: number[] = [];
    const items = await collect({ fetchPage: byTotal.fetchPage, keyOf, signal: new AbortController().signal, onTotal: (n) => totals.push(n) });
    expect(items).toHaveLength(30);
    expect(byTotal.asked).toEqual([1, 2, 3]);
    expect(totals).toEqual([30]);

    const fromTwo = lister(30, 10, () => ({ total: 20 }));
    const tail = await collect({ fetchPage: fromTwo.fetchPage, firstPage: 2, keyOf, signal: new AbortController().signal });
    expect(tail.map((i) => i.key)).toEqual(fromTwo.rows.slice(10).map((r) => String(r.id)));
    expect(fromTwo.asked).toEqual([2, 3]);
  });

  it('honours limit: no page and no detail beyond it, and a total of at most the limit', async () => {
    const { asked, fetchPage } = lister(100, 10, () => ({ total: 100 }));
    const detailed: string[] = [];
    const totals: number[] = [];
    const items = await collect({
      fetchPage,
      keyOf,
      fetchDetail: async (row) => {
        detailed.push(String(row.id));
        return { extra: true };
      },
      window: 4,
      limit: 15,
      signal: new AbortController().signal,
      onTotal: (n) => totals.push(n),
    });
    expect(items.map((i) => i.key)).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 1)));
    expect(asked).toEqual([1, 2]);
    expect(detailed.sort((a, b) => Number(a) - Number(b))).toEqual(items.map((i) => i.key));
    expect(totals).toEqual([15]);
  });

  it('leaves out a row without a key, and says so', async () => {
    const fetchPage = async (page: number): Promise<ListPage<Row>> =>
      page === 1 ? { rows: [{ id: 1, name: 'a' }, { name: 'no id' }, { id: 3, name: 'c' }], last: true } : { rows: [] };
    const missing: Row[] = [];
    const items = await collect({ fetchPage, keyOf, fetchDetail: async () => ({}), signal: new AbortController().signal, onMissingKey: (r) => missing.push(r) });
    expect(items.map((i) => i.key)).toEqual(['1', '3']);
    expect(missing).toEqual([{ name: 'no id' }]);
  });
});

describe('readPagedDetail: details', () => {
  it('keeps list order across pages whatever order the details answer in', async () => {
    const { rows, fetchPage } = lister(47, 10);
    const items = await collect({
      fetchPage,
      keyOf,
      fetchDetail: async (row) => {
        await sleep((row.id! * 7) % 13); // answers out of order
        return { detail: `详情 ${row.id}` };
      },
      window: 5,
      signal: new AbortController().signal,
    });
    expect(items.map((i) => i.key)).toEqual(rows.map((r) => String(r.id)));
    expect(items.every((i) => i.detail?.detail === `详情 ${i.row.id}`)).toBe(true);
  });

  it('never has more details in flight than the window, and fills it', async () => {
    const { fetchPage } = lister(60, 20);
    let running = 0;
    let max = 0;
    await collect({
      fetchPage,
      keyOf,
      fetchDetail: async () => {
        max = Math.max(max, ++running);
        await sleep(3);
        running--;
        return {};
      },
      window: 4,
      signal: new AbortController().signal,
    });
    expect(max).toBe(4);
  });

  it("starts the next page's details while the last detail of a page is slow (the window spans pages)", async () => {
    const { rows, fetchPage } = lister(30, 10);
    const started: number[] = [];
    let slowDone = -1;
    const items = await collect({
      fetchPage,
      keyOf,
      fetchDetail: async (row) => {
        started.push(row.id!);
        await sleep(row.id === 10 ? 200 : 2);
        if (row.id === 10) slowDone = started.length;
        return {};
      },
      window: 4,
      signal: new AbortController().signal,
    });
    expect(items.map((i) => i.key)).toEqual(rows.map((r) => String(r.id)));
    // by the time the slow detail of row 10 answered, the second page's details had run in the other slots
    expect(started.slice(0, slowDone).filter((id) => id > 10).length).toBeGreaterThanOrEqual(10);
  });

  it('yields a row whose detail says it is gone as `gone`, with the row', async () => {
    const { fetchPage } = lister(12, 5);
    const items = await collect({
      fetchPage,
      keyOf,
      fetchDetail: async (row) => (row.id === 7 ? undefined : { ok: true }),
      window: 3,
      signal: new AbortController().signal,
    });
    expect(items).toHaveLength(12);
    const gone = items.filter((i) => i.gone);
    expect(gone).toEqual([{ key: '7', row: { id: 7, name: '客户 7' }, gone: true }]);
    expect(items.filter((i) => !i.gone).every((i) => i.detail?.ok === true)).toBe(true);
  });

  it('ends the read with a failed detail when its turn comes, with nothing left unhandled', async () => {
    const { fetchPage } = lister(20, 10);
    const seen: string[] = [];
    const run = (async () => {
      for await (const item of readPagedDetail({
        fetchPage,
        keyOf,
        fetchDetail: async (row) => {
          if (row.id === 5 || row.id === 6) throw new Error(`detail ${row.id} failed`);
          return {};
        },
        window: 4,
        signal: new AbortController().signal,
      })) {
        seen.push(item.key);
      }
    })();
    await expect(run).rejects.toThrow('detail 5 failed');
    expect(seen).toEqual(['1', '2', '3', '4']);
  });
});

describe('readPagedDetail: stopping', () => {
  it('stops on abort: the iteration throws the reason, requests in flight see the abort, no page is asked for after', async () => {
    const { asked, fetchPage } = lister(100, 10);
    const controller = new AbortController();
    const aborted: string[] = [];
    const seen: string[] = [];
    const run = (async () => {
      for await (const item of readPagedDetail({
        fetchPage,
        keyOf,
        fetchDetail: async (row, signal) => {
          await sleep(5);
          if (signal.aborted) aborted.push(String(row.id));
          return {};
        },
        window: 4,
        signal: controller.signal,
      })) {
        seen.push(item.key);
        if (seen.length === 15) controller.abort(new Error('stopped by the user'));
      }
    })();
    await expect(run).rejects.toThrow('stopped by the user');
    expect(seen).toHaveLength(15);
    const pagesAtAbort = asked.length;
    await sleep(30);
    expect(asked.length).toBe(pagesAtAbort);
    expect(pagesAtAbort).toBeLessThanOrEqual(3);
    expect(aborted.length).toBeGreaterThan(0);
  });

  it('cancels the requests in flight when the consumer stops early, and leaves no listener on its signal', async () => {
    const { fetchPage } = lister(50, 10);
    const signals: AbortSignal[] = [];
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
    for await (const item of readPagedDetail({
      fetchPage,
      keyOf,
      fetchDetail: async (_row, signal) => {
        signals.push(signal);
        await sleep(2);
        return {};
      },
      window: 3,
      signal: controller.signal,
    })) {
      if (item.key === '4') break;
    }
    expect(signals.length).toBeGreaterThan(4);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(controller.signal.aborted).toBe(false);
    expect(removed).toBe(added);
  });
});

interface Versioned {
  id: number;
  v: number;
}

/**
 * A list that changes while it is read: `before(page, pass)` runs before each page is served, and may
 * change `rows`. Pages of `size`, with `total` on every page.
 */
function movingList(count: number, size: number, before: (page: number, pass: number, rows: Versioned[]) => void = () => {}) {
  const rows: Versioned[] = Array.from({ length: count }, (_, i) => ({ id: i + 1, v: 1 }));
  const asked: number[] = [];
  let pass = 0;
  const fetchPage = async (page: number): Promise<ListPage<Versioned>> => {
    if (page === 1) pass++;
    asked.push(page);
    before(page, pass, rows);
    await sleep(1);
    return { rows: rows.slice((page - 1) * size, page * size).map((r) => ({ ...r })), total: rows.length };
  };
  return { rows, asked, fetchPage };
}

const vKey = (row: Versioned) => String(row.id);
const vVersion = (row: Versioned, detail?: { v: number }) => String(detail?.v ?? row.v);

async function relist(options: Partial<PagedDetailOptions<Versioned, { v: number }>> & Pick<PagedDetailOptions<Versioned, { v: number }>, 'fetchPage'>) {
  const warnings: [string, string][] = [];
  const passes: PassReport[] = [];
  const items = await collect<Versioned, { v: number }>({
    keyOf: vKey,
    versionOf: vVersion,
    passes: 4,
    signal: new AbortController().signal,
    onWarning: (code, message) => warnings.push([code, message]),
    onPass: (p) => passes.push(p),
    label: '测试 list',
    ...options,
  });
  return { items, warnings, passes };
}

describe('readPagedDetail: re-list passes', () => {
  it('finds the rows a delete between two pages made the first pass skip, then settles', async () => {
    const list = movingList(30, 10, (page, pass, rows) => {
      if (pass === 1 && page === 2) rows.splice(2, 3); // rows 3–5 of page 1 go: 11–13 move onto page 1
    });
    const { items, warnings, passes } = await relist({ fetchPage: list.fetchPage });
    const keys = items.map((i) => i.key);
    expect(keys.slice(0, 27)).toEqual([...Array.from({ length: 10 }, (_, i) => String(i + 1)), ...Array.from({ length: 17 }, (_, i) => String(i + 14))]);
    expect(keys.slice(27)).toEqual(['11', '12', '13']);
    expect(list.asked).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
    expect(passes.map((p) => [p.pass, p.fresh, p.listed, p.total, p.totalSteady])).toEqual([
      [1, 27, 27, 30, false],
      [2, 3, 27, 27, true],
      [3, 0, 27, 27, true],
    ]);
    expect(warnings).toEqual([]);
  });

  it('yields a row again, with a new detail, when its version changed; never the same version twice', async () => {
    const list = movingList(20, 10, (page, pass, rows) => {
      if (pass === 1 && page === 2) rows[3]!.v = 2; // edited after it was read
    });
    const details: string[] = [];
    const { items, warnings } = await relist({
      fetchPage: list.fetchPage,
      fetchDetail: async (row) => {
        details.push(`${row.id}@${row.v}`);
        return { v: row.v };
      },
      window: 3,
    });
    expect(items.map((i) => `${i.key}@${i.detail?.v}`).filter((k) => k.startsWith('4@'))).toEqual(['4@1', '4@2']);
    expect(items).toHaveLength(21);
    expect(details.filter((d) => d.startsWith('4@'))).toEqual(['4@1', '4@2']);
    expect(warnings).toEqual([]);
  });

  it("takes the detail's version as the one delivered: a row edited between list and detail is not read again", async () => {
    const list = movingList(10, 10);
    const details: number[] = [];
    const { items } = await relist({
      fetchPage: list.fetchPage,
      fetchDetail: async (row) => {
        details.push(row.id);
        if (row.id === 5 && list.rows[4]!.v === 1) list.rows[4]!.v = 2; // edited once listed
        return { v: list.rows[row.id - 1]!.v };
      },
    });
    expect(items).toHaveLength(10);
    expect(details.filter((id) => id === 5)).toHaveLength(1);
    expect(list.asked).toEqual([1, 1]);
  });

  it('says READ_UNSETTLED when rows still move in the last pass allowed', async () => {
    const list = movingList(25, 10, (page, _pass, rows) => {
      if (page === 2) rows.splice(0, 1); // a row of page 1 goes before every second page
    });
    const { items, warnings, passes } = await relist({ fetchPage: list.fetchPage, passes: 3 });
    expect(passes).toHaveLength(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toBe(READ_UNSETTLED);
    expect(warnings[0]![1]).toMatch(/^测试 list: rows were still moving after 3 list passes/);
    expect(warnings[0]![1]).toMatch(/the count changed between its pages/);
    // every row still there was read
    const read = new Set(items.map((i) => i.key));
    expect(list.rows.filter((r) => !read.has(String(r.id)))).toEqual([]);
  });

  it('says READ_TOTAL_MISMATCH when quiet passes list fewer rows than the system counts, and stops there', async () => {
    // A system that counts 40 rows but serves no page past the second.
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, v: 1 }));
    const asked: number[] = [];
    const fetchPage = async (page: number): Promise<ListPage<Versioned>> => {
      asked.push(page);
      return { rows: page <= 2 ? rows.slice((page - 1) * 10, page * 10) : [], total: 40 };
    };
    const { items, warnings } = await relist({ fetchPage, passes: 6 });
    expect(items).toHaveLength(20);
    expect(asked).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]); // the third quiet pass with the same numbers is not needed
    expect(warnings).toEqual([[READ_TOTAL_MISMATCH, expect.stringMatching(/^测试 list: list passes in which nothing changed listed 20 distinct rows while the system counted 40: .*up to 20 may not have been read/)]]);
  });

  it('lists once with limit, and tells a row without a key once per read', async () => {
    const list = movingList(30, 10);
    const limited = await relist({ fetchPage: list.fetchPage, limit: 12 });
    expect(limited.items).toHaveLength(12);
    expect(list.asked).toEqual([1, 2]);
    expect(limited.passes).toEqual([]);

    const missing: unknown[] = [];
    const fetchPage = async (page: number): Promise<ListPage<Versioned>> =>
      page === 1 ? { rows: [{ id: 1, v: 1 }, { id: 0, v: 1 }], total: 2, last: true } : { rows: [], total: 2 };
    const { items, warnings } = await relist({ fetchPage, keyOf: (r) => (r.id ? String(r.id) : undefined), onMissingKey: (r) => missing.push(r) });
    expect(items.map((i) => i.key)).toEqual(['1']);
    expect(missing).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});
