import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@qiao/core';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { BIP_SECRET, OKKI_SECRET, TEMPLATE, chaosSeed, compare, fastClock, qiao, removeDir, stackLines, templateEnv, tempDir, type QiaoResult } from './helpers.js';

const CUSTOMERS = 300;
const FAULT_RATE = 0.05;
const RUNS = 5;
const KINDS = ['edit', 'add', 'delete', 'shift'] as const;
/**
 * OKKI's clock runs 120 times faster: an incremental run of 5 s spans 10 minutes there, the look-back.
 * It starts a day behind this machine's (and catches up after 12 minutes).
 */
const OKKI_CLOCK_SPEED = 120;
const OKKI_CLOCK_BEHIND_MS = 24 * 3600_000;

type Report = { status: string; counts: { read: number; inserted: number; updated: number; skipped: number; failed: number } };

/**
 * Issue 14's property on the whole product: every change made in OKKI is delivered by the first run
 * that starts after it. Five incremental runs, each with changes made before it and more made at
 * random moments while it reads (every mapped field, some emptied; adds, deletes, moves), under faults
 * on both sides; after one more run YonBIP equals OKKI field by field.
 */
describe(`${RUNS} incremental runs while OKKI changes every mapped field, ${FAULT_RATE * 100}% faults on both sides`, () => {
  let okki: OkkiSandbox | undefined;
  let bip: YonbipSandbox | undefined;
  const dir = tempDir('qiao-chaos-incremental-');
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
    removeDir(dir);
  });

  it('after the next run YonBIP equals OKKI: live customers once with every mapped field equal, deleted ones stopped', async () => {
    const seed = chaosSeed();
    console.log(`incremental chaos seed ${seed} (QIAO_CHAOS_SEED=${seed} repeats the data, faults and changes)`);
    okki = await startOkkiSandbox({ customers: CUSTOMERS, seed: (seed % 1_000_000) + 7, faultRate: FAULT_RATE, faultKinds: ['500', '503', '429'], now: fastClock(OKKI_CLOCK_SPEED, -OKKI_CLOCK_BEHIND_MS), clientSecret: OKKI_SECRET });
    bip = await startYonbipSandbox({ faultRate: FAULT_RATE, faultKinds: ['500', '503', '310039'], appSecret: BIP_SECRET, random: seededRandom(seed ^ 0x2545f491) });
    const env = { ...templateEnv(okki, bip, { concurrency: 4 }), QIAO_ON_DELETE: 'stop' };
    const state = join(dir, 'state');
    const runs: QiaoResult[] = [];

    /** Runs until a run succeeds (one whose retries ran out under the faults exits 3 and is run again). */
    const run = async (what: string): Promise<Report> => {
      for (let i = 0; ; i++) {
        expect(i, `${what}: still failing after ${i} runs`).toBeLessThan(4);
        const r = await qiao(['run', TEMPLATE, '--state', state, '--json'], { env });
        runs.push(r);
        expect([0, 3], `${what} exited ${r.code}:\n${r.stderr.slice(-3000)}`).toContain(r.code);
        if (r.code === 0) return JSON.parse(r.stdout) as Report;
      }
    };

    expect((await run('first run')).counts.inserted).toBe(CUSTOMERS);
    let during = 0;
    const reads: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      okki.setMutations({ rate: 0.5, kinds: [...KINDS], edit: 'fields', max: 8 });
      // changes before the run give it something to read; more come while it reads
      for (const kind of ['edit', 'edit', 'edit', 'add', 'delete', 'shift'] as const) okki.mutate(kind);
      const before = okki.counters.mutations;
      const report = await run(`incremental run ${i + 1}`);
      expect(report.status).toBe('succeeded');
      reads.push(report.counts.read);
      during += okki.counters.mutations - before;
    }
    okki.setMutations({ rate: 0 });
    const last = await run('last run');
    expect(last.status).toBe('succeeded');

    const result = compare(okki, bip);
    const kinds = Object.fromEntries(KINDS.map((k) => [k, okki!.mutationLog.filter((m) => m.kind === k).length]));
    const emptied = okki.mutationLog.filter((m) => m.emptied?.length).length;
    console.log(
      `incremental chaos: seed ${seed} · changes ${okki.counters.mutations} (${during} while qiao read; ${KINDS.map((k) => `${kinds[k]} ${k}`).join(', ')}; ${emptied} emptied a field)` +
        ` · read per incremental run ${reads.join(', ')} · faults OKKI ${okki.counters.faults}, BIP ${bip.counters.faults} · runs ${runs.length}` +
        ` · missing ${result.missing.length} · stale ${result.staleCount} · deleted stopped ${result.deletedStopped}, never written ${result.deletedNeverWritten}`,
    );
    expect(result.missing).toEqual([]);
    expect(result.stale).toEqual([]);
    expect(result.duplicates).toEqual([]);
    expect(result.extra).toEqual([]);
    expect(result.stoppedLive).toEqual([]);
    expect(result.deletedActive).toEqual([]);
    expect(result.deletedStopped).toBeGreaterThan(0);
    expect(result.deletedStopped + result.deletedNeverWritten).toBe(kinds.delete);
    expect(result.merchants).toBe(result.customers);
    expect(result.customers).toBe(CUSTOMERS + kinds.add! - kinds.delete!);
    // the changes happened, emptied fields among them, while each run read its window (not everything)
    expect(during).toBeGreaterThan(15);
    expect(emptied).toBeGreaterThan(0);
    for (const n of reads) expect(n).toBeLessThan(CUSTOMERS / 2);
    for (const r of runs) expect(stackLines(r.stderr), `stack trace in qiao ${r.args.join(' ')}`).toEqual([]);
  });
});
