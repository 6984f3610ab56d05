import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReadContext, Source, SourceRecord } from '@qiao/core';
import { formatChinaTime, parseChinaTime } from '@qiao/connector-okki';
import { startOkkiSandbox, type OkkiSandbox, type OkkiSandboxOptions } from '@qiao/connector-okki/sandbox';
import { collect, readContext, wire } from './helpers.js';

// Rows that move while the company stream pages through them: deletes, edits, adds and moves made by
// the simulator between (and during) the stream's requests. Each test here fails with the stream as it
// was before reads re-listed and checkpointed at OKKI's clock.

const sandboxes: OkkiSandbox[] = [];
async function sandbox(options: OkkiSandboxOptions = {}): Promise<OkkiSandbox> {
  const s = await startOkkiSandbox(options);
  sandboxes.push(s);
  return s;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(sandboxes.splice(0).map((s) => s.stop()));
});

const liveIds = (s: OkkiSandbox) => s.companies().map((c) => String(c.company_id));
const listQueries = (s: OkkiSandbox) => s.requestLog.filter((r) => r.path === '/v1/company/list').map((r) => r.query);
const isList = (r: { path: string }) => r.path === '/v1/company/list';

interface Warned {
  code: string;
  message: string;
}

/**
 * One run of the stream as the executor drives it: the records, the warnings, and the cursor the next
 * incremental run starts from — the read's checkpoint, or else (the executor's fallback) the largest
 * cursor read.
 */
async function run(stream: Source, partial: Partial<ReadContext> = {}): Promise<{ records: SourceRecord[]; warnings: Warned[]; checkpoints: string[]; next: string | undefined }> {
  const warnings: Warned[] = [];
  const checkpoints: string[] = [];
  const records = await collect(
    stream,
    readContext({
      params: { count: 20 },
      warn: (code, message) => warnings.push({ code, message }),
      checkpoint: (c) => checkpoints.push(c),
      ...partial,
    }),
  );
  let max: string | undefined = partial.cursor;
  for (const r of records) if (r.cursor !== undefined && (max === undefined || r.cursor > max)) max = r.cursor;
  return { records, warnings, checkpoints, next: checkpoints.at(-1) ?? max };
}

/** (key, update_time) pairs read more than once: the same version of a customer read twice. */
function repeatedVersions(records: SourceRecord[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const r of records) {
    if (r.skip) continue;
    const id = `${r.key}@${String(r.data.update_time)}`;
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return twice;
}

/** What a target holds after applying runs in order: the last record read of each key. */
function apply(target: Map<string, Record<string, unknown>>, records: SourceRecord[]): void {
  for (const r of records) if (!r.skip) target.set(r.key, r.data);
}

/** Live customers the target lacks, or holds at another update_time, address or name than OKKI. */
function differences(s: OkkiSandbox, target: Map<string, Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const c of s.companies()) {
    const id = String(c.company_id);
    const t = target.get(id);
    if (!t) out.push(`${id} missing`);
    else if (t.update_time !== c.update_time || t.address !== c.address || t.name !== c.name) {
      out.push(`${id} stale: has ${String(t.update_time)} "${String(t.address)}", OKKI ${String(c.update_time)} "${String(c.address)}"`);
    }
  }
  return out;
}

/**
 * A clock the test moves `stepMs` at a time (on every request, say), so that a run lasts minutes or
 * hours. With `shared`, this process's `Date` moves with it (timers stay real): OKKI and qiao then share
 * one clock, as they would on synchronised machines, and only the passing of time is simulated.
 */
function steppingClock(start: number, stepMs: number, shared = false): { now: () => number; step: () => void } {
  let t = start;
  if (shared) {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t);
  }
  return {
    now: () => t,
    step: () => {
      t += stepMs;
      if (shared) vi.setSystemTime(t);
    },
  };
}

describe('company stream: rows that move while it pages', () => {
  it('a delete between two pages of a full read: no live customer is missed, and the read settles', async () => {
    const s = await sandbox({ customers: 60 });
    const firstPage = liveIds(s).slice(0, 20);
    let deleted = false;
    s.onRequest = (r) => {
      // Page 1 has been read; three of its customers go, and page 2's first three rows move onto page 1.
      if (isList(r) && r.query.start_index === '2' && !deleted) {
        deleted = true;
        for (const id of firstPage.slice(3, 6)) s.deleteCompany(id);
      }
    };
    const { stream } = wire(s);
    const { records, warnings } = await run(stream, { detail: true });
    expect(deleted).toBe(true);
    const read = new Set(records.map((r) => r.key));
    expect(liveIds(s)).toHaveLength(57);
    expect(liveIds(s).filter((id) => !read.has(id))).toEqual([]);
    expect(repeatedVersions(records)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('an edit that moves a customer out of the window mid-run: the other customers in the window are all read, and the next run reads the edit', async () => {
    const s = await sandbox({ customers: 200, seed: 3 });
    const times = s.companies().map((c) => String(c.update_time)).sort();
    const cursor = times[120]!; // about 80 customers in the window, 4 pages of 20
    const inWindow = s.companies().filter((c) => String(c.update_time) >= cursor).map((c) => String(c.company_id));
    expect(inWindow.length).toBeGreaterThan(60);
    const editedId = inWindow[5]!;
    let edited = false;
    s.onRequest = (r) => {
      if (isList(r) && r.query.start_index === '2' && !edited) {
        edited = true;
        // Seconds later on OKKI's clock: the edit's update_time is past the window's end, so the customer
        // leaves the window and every row after it moves up one place.
        s.setClockOffset(5_000);
        s.updateCompany(editedId, { address: '上海市浦东新区世纪大道 1 号' });
      }
    };
    const { stream } = wire(s);
    const first = await run(stream, { cursor, detail: true });
    expect(edited).toBe(true);
    const read = new Set(first.records.map((r) => r.key));
    expect(inWindow.filter((id) => id !== editedId && !read.has(id))).toEqual([]);
    expect(first.warnings).toEqual([]);

    const second = await run(stream, { cursor: first.next, detail: true });
    const edit = second.records.find((r) => r.key === editedId);
    expect(edit?.data.address).toBe('上海市浦东新区世纪大道 1 号');
  });

  it('random edits, adds, deletes and moves at random moments during a full read: every live customer read once per version, at its latest by the next run', async () => {
    for (const seed of [1, 2, 3]) {
      const clock = steppingClock(Date.UTC(2026, 0, 21, 8, 0, 0), 250);
      const s = await sandbox({ customers: 300, seed, now: clock.now, mutations: { rate: 0.2, kinds: ['edit', 'add', 'delete', 'shift'], max: 40 } });
      s.onRequest = (r) => r.path !== '/v1/oauth2/access_token' && clock.step();
      const { stream } = wire(s);
      const first = await run(stream, { detail: true });
      expect(s.counters.mutations, `seed ${seed}`).toBe(40);
      expect(repeatedVersions(first.records), `seed ${seed}`).toEqual([]);
      // Every customer live at the end that the read's window holds (update_time up to its end) was read,
      // at its latest version; the others changed after the window ended.
      const end = first.checkpoints[0]!;
      const target = new Map<string, Record<string, unknown>>();
      apply(target, first.records);
      const inWindow = s.companies().filter((c) => String(c.update_time) <= end);
      expect(inWindow.length, `seed ${seed}`).toBeGreaterThan(250);
      const notRead = inWindow.filter((c) => {
        const t = target.get(String(c.company_id));
        return !t || t.update_time !== c.update_time || t.address !== c.address;
      });
      expect(notRead.map((c) => c.company_id), `seed ${seed}`).toEqual([]);
      expect(first.warnings, `seed ${seed}`).toEqual([]);

      s.setMutations({ rate: 0 });
      const second = await run(stream, { detail: true, cursor: first.next, lookbackMs: 60_000 });
      apply(target, second.records);
      expect(differences(s, target), `seed ${seed}`).toEqual([]);
    }
  });

  it('five incremental runs with random changes during each, then one more: the reader holds every live customer at its latest version', async () => {
    // Five seconds per request: a run takes minutes, far longer than the look-back.
    const clock = steppingClock(Date.now(), 5_000, true);
    const s = await sandbox({ customers: 200, seed: 9, now: clock.now });
    s.onRequest = (r) => r.path !== '/v1/oauth2/access_token' && clock.step();
    const { stream } = wire(s);
    const target = new Map<string, Record<string, unknown>>();
    let { records, next } = await run(stream, { detail: true });
    apply(target, records);
    const lookbackMs = 20_000;
    let during = 0;
    for (let i = 0; i < 5; i++) {
      // changes between runs, ten seconds apart, then during the run, before any of its requests
      for (const kind of ['edit', 'edit', 'edit', 'add', 'delete', 'shift'] as const) {
        clock.step();
        clock.step();
        s.mutate(kind);
      }
      const before = s.counters.mutations;
      s.setMutations({ rate: 0.5, kinds: ['edit', 'add', 'delete', 'shift'], max: 10 });
      ({ records, next } = await run(stream, { detail: true, cursor: next, lookbackMs }));
      during += s.counters.mutations - before;
      apply(target, records);
    }
    s.setMutations({ rate: 0 });
    ({ records } = await run(stream, { detail: true, cursor: next, lookbackMs }));
    apply(target, records);
    expect(during).toBeGreaterThan(20);
    expect(differences(s, target)).toEqual([]);
  });

  it('an edit during a run longer than the look-back is read by the next run', async () => {
    const clock = steppingClock(Date.now(), 60_000, true); // a minute per request
    const s = await sandbox({ customers: 100, seed: 5, now: clock.now });
    const ids = liveIds(s);
    const early = ids[2]!; // read on the first page
    const late = ids[75]!; // on page 4 (of 20 each), read near the end
    let details = 0;
    s.onRequest = (r) => {
      if (r.path === '/v1/oauth2/access_token') return;
      clock.step();
      if (r.path !== '/v1/company/info') return;
      details++;
      // Minutes into the run, a customer read already is edited. An hour later, one that has been
      // listed but not yet detailed: its detail then carries an update_time an hour past the first edit.
      if (details === 10) s.updateCompany(early, { address: '早先的修改 1 号' });
      if (details === 65) s.updateCompany(late, { address: '后来的修改 2 号' });
    };
    const { stream } = wire(s, { limits: { concurrency: 1 } });
    const lookbackMs = 5 * 60_000; // far shorter than the run (100+ minutes on OKKI's clock)
    const first = await run(stream, { detail: true });
    const second = await run(stream, { detail: true, cursor: first.next, lookbackMs });
    const target = new Map<string, Record<string, unknown>>();
    apply(target, first.records);
    apply(target, second.records);
    expect(target.get(early)?.address).toBe('早先的修改 1 号');
    expect(target.get(late)?.address).toBe('后来的修改 2 号');
    expect(differences(s, target)).toEqual([]);
  });
});

describe('company stream: the window ends at OKKI\'s clock', () => {
  it('checkpoints at OKKI\'s now when the read began, not at the local time, and ends every later page there', async () => {
    const offset = -3 * 3600_000; // OKKI's clock three hours behind this machine
    const s = await sandbox({ customers: 50, clockOffsetMs: offset });
    const { stream } = wire(s);
    const before = s.now();
    const full = await run(stream);
    const after = s.now();
    expect(full.checkpoints).toHaveLength(1);
    const end = full.checkpoints[0]!;
    expect(end >= formatChinaTime(before) && end <= formatChinaTime(after)).toBe(true);
    // three hours from this machine's clock, to the second as OKKI writes it
    expect(Math.abs(parseChinaTime(end)! - (Date.now() + offset))).toBeLessThan(60_000);
    const [firstQuery, ...later] = listQueries(s);
    expect(firstQuery!.end_time).toBeUndefined();
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((q) => q.end_time === end && q.time_type === '1')).toBe(true);

    // the next incremental read: from the checkpoint minus the look-back, to OKKI's now again
    s.requestLog.length = 0;
    s.setClockOffset(offset + 90_000);
    const lookbackMs = 10 * 60_000;
    const next = await run(stream, { cursor: end, lookbackMs });
    const start = formatChinaTime(parseChinaTime(end)! - lookbackMs);
    const queries = listQueries(s);
    expect(queries.every((q) => q.start_time === start && q.time_type === '1')).toBe(true);
    expect(next.checkpoints).toHaveLength(1);
    expect(parseChinaTime(next.checkpoints[0]!)! - parseChinaTime(end)!).toBeGreaterThanOrEqual(90_000);
    expect(queries.slice(1).every((q) => q.end_time === next.checkpoints[0])).toBe(true);
  });

  it('sets no checkpoint and lists once when the read is cut by limit, or stops early', async () => {
    const s = await sandbox({ customers: 50 });
    const { stream } = wire(s);
    const limited = await run(stream, { limit: 25 });
    expect(limited.records).toHaveLength(25);
    expect(limited.checkpoints).toEqual([]);
    expect(s.counters.list).toBe(2);

    const checkpoints: string[] = [];
    for await (const r of stream.read(readContext({ params: { count: 20 }, checkpoint: (c) => checkpoints.push(c) }))) {
      if (r.key) break;
    }
    expect(checkpoints).toEqual([]);
  });

  it('reads a window the scheme gives as it is, and leaves the checkpoint to the run', async () => {
    const s = await sandbox({ customers: 50 });
    const times = s.companies().map((c) => String(c.update_time)).sort();
    const { stream } = wire(s);
    const r = await run(stream, { params: { count: 20, time_type: 1, start_time: times[10], end_time: times[30] } });
    expect(r.records).toHaveLength(21);
    expect(r.checkpoints).toEqual([]);
    expect(listQueries(s).every((q) => q.end_time === times[30])).toBe(true);
  });

  it('warns the run when rows are still moving after the last pass allowed', async () => {
    // A customer deleted before every list call: no pass can be settled.
    const s = await sandbox({ customers: 80, mutations: { rate: 1, kinds: ['delete'], on: 'list' } });
    const { stream } = wire(s);
    const r = await run(stream);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.code).toBe('read.unsettled');
    expect(r.warnings[0]!.message).toMatch(/小满 OKKI company\/list: rows were still moving after 5 list passes/);
    // it still read every customer that is live now
    const read = new Set(r.records.map((x) => x.key));
    expect(liveIds(s).filter((id) => !read.has(id))).toEqual([]);
  });
});
