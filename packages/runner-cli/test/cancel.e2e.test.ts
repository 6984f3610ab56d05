import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { post, startServe } from './serve-helpers.js';
import { insertsPerCode, memoryScheme, qiao, simulatorEnv, startQiao, tempDir, waitFor, writeTemp } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;

interface Report {
  status: string;
  counts: { read: number; inserted: number; updated: number; failed: number };
  fatal?: unknown;
}

describe('Ctrl-C and SIGTERM cancel a run: a report, exit 130/143, the rest delivered by the next run', () => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;
  let env: Record<string, string>;

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 200, seed: 11 });
    bip = await startYonbipSandbox({});
    // slow enough to be stopped in the middle: 200 customers at 20 writes a second take ~10 s
    env = { ...simulatorEnv(okki, bip), OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '20', YONBIP_CONCURRENCY: '2' };
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
  });

  it('SIGINT mid-run: exit 130, one JSON report with status cancelled, stored as cancelled; a rerun delivers the rest once', async () => {
    const state = join(tempDir('qiao-cancel-'), 'state');
    const run = startQiao(['run', TEMPLATE, '--json', '--state', state], { env });
    await waitFor(() => bip.merchants().length >= 15, 60_000, '15 customers written');
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).not.toMatch(/bug in qiao|aborted/i);
    // stdout is exactly one JSON document
    const report = JSON.parse(stopped.stdout) as Report;
    expect(report.status).toBe('cancelled');
    expect(report.fatal).toBeUndefined();
    const written = bip.merchants().length;
    expect(written).toBeLessThan(200);
    expect(report.counts.inserted).toBe(written);

    const runs = JSON.parse((await qiao(['runs', 'okki-company-to-yonbip-merchant', '--state', state, '--json'])).stdout) as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['cancelled']);
    // a cancelled run is not a failed one: it does not pull the success rate down
    const overview = JSON.parse((await qiao(['overview', 'okki-company-to-yonbip-merchant', '--state', state, '--json'])).stdout) as { successRate: number | null; status: string };
    expect(overview).toMatchObject({ status: 'cancelled', successRate: null });

    const rerun = await qiao(['run', TEMPLATE, '--json', '--state', state], { env: { ...env, YONBIP_REQUESTS_PER_SECOND: '200', YONBIP_CONCURRENCY: '8' } });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
    expect(bip.merchants()).toHaveLength(200);
    const inserts = [...bip.insertsByCode().values()];
    expect(inserts).toHaveLength(200);
    expect(inserts.filter((n) => n !== 1)).toEqual([]);
    const after = JSON.parse((await qiao(['overview', 'okki-company-to-yonbip-merchant', '--state', state, '--json'])).stdout) as { successRate: number };
    expect(after.successRate).toBe(1);
  }, 180_000);

  it('SIGTERM mid-run: exit 143 and the report, in text without --json', async () => {
    const dir = tempDir('qiao-cancel-term-');
    const target = join(dir, 'target.jsonl');
    const file = writeTemp(dir, 'slow.yaml', memoryScheme({ id: 'slow', count: 400, targetFile: target, writeDelayMs: 100 }));
    const run = startQiao(['run', file, '--state', join(dir, 'state')]);
    await waitFor(() => insertsPerCode(target).size >= 8, 30_000, 'writes under way');
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(143);
    expect(stopped.stderr).toMatch(/of slow: cancelled/);
    expect(stopped.stderr).toMatch(/stays queued/);
    expect(stopped.stderr).not.toMatch(/bug in qiao/);
  }, 180_000);

  it('a second Ctrl-C quits at once; the next run recovers what was in flight and writes nothing twice', async () => {
    const dir = tempDir('qiao-cancel-twice-');
    const target = join(dir, 'target.jsonl');
    const state = join(dir, 'state');
    // writes slow enough that the first Ctrl-C would wait for them
    const slow = writeTemp(dir, 'slow.yaml', memoryScheme({ id: 'twice', count: 120, targetFile: target, writeDelayMs: 3000 }));
    const fast = writeTemp(dir, 'fast.yaml', memoryScheme({ id: 'twice', count: 120, targetFile: target }));
    const run = startQiao(['run', slow, '--state', state, '--json']);
    await waitFor(() => insertsPerCode(target).size >= 4, 30_000, 'writes under way');
    run.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code).toBe(130);
    // it quit without waiting for the writes in flight: no report was printed
    expect(stopped.stdout).toBe('');
    expect(stopped.stderr).toMatch(/stopping/);
    const rerun = await qiao(['run', fast, '--state', state, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const inserts = insertsPerCode(target);
    expect(inserts.size).toBe(120);
    expect([...inserts.values()].filter((n) => n !== 1)).toEqual([]);
  }, 180_000);

  it('qiao serve stopping in the middle of a run stores it as cancelled, not failed', async () => {
    const dir = tempDir('qiao-cancel-serve-');
    const schemes = join(dir, 'schemes');
    mkdirSync(schemes);
    const target = join(dir, 'target.jsonl');
    const state = join(dir, 'state');
    writeTemp(schemes, 'long.yaml', memoryScheme({ id: 'long', count: 400, targetFile: target, writeDelayMs: 100 }));
    const serve = await startServe(['--schemes', schemes, '--port', '0', '--state', state]);
    expect((await post(serve.url, '/api/schemes/long/run')).status).toBe(202);
    await waitFor(() => insertsPerCode(target).size >= 8, 20_000, 'writes under way');
    serve.child.kill('SIGTERM');
    const done = await serve.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/long: run cancelled/);
    expect(done.stderr).not.toMatch(/could not start|run failed/);
    const runs = JSON.parse((await qiao(['runs', 'long', '--state', state, '--json'])).stdout) as { status: string; fatal?: unknown }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'cancelled' });
    expect(runs[0]!.fatal).toBeUndefined();
  }, 180_000);
});
