import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { formatCursor, formatTime } from '../src/lib/output.js';
import { runRow } from '../src/lib/render-report.js';
import { BIN, memoryScheme, qiao, simulatorEnv, tempDir, writeTemp } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const SCHEME_ID = 'okki-company-to-yonbip-merchant';

describe('times, cursors and durations as people read them', () => {
  it('shows run times and cursors in one labelled zone (UTC), the source time beside it', () => {
    expect(formatTime('2026-12-05T08:19:57.123Z')).toBe('2026-12-05 08:19:57 UTC');
    expect(formatCursor('2026-12-05 16:19:57', '+08:00')).toBe('2026-12-05 08:19:57 UTC (source time 2026-12-05 16:19:57 +08:00)');
    expect(formatCursor('2026-12-05T08:19:57.000Z')).toBe('2026-12-05 08:19:57 UTC');
    expect(formatCursor('2026-12-05 16:19:57')).toMatch(/^2026-12-05 16:19:57 \(the source's clock/);
    expect(formatCursor('page-17')).toBe('page-17');
    expect(formatCursor(null)).toBe('-');
  });

  it('a running run shows how long it has been going, not 0 ms', () => {
    const startedAt = new Date(Date.now() - 65_000).toISOString();
    const row = runRow({ startedAt, status: 'running', durationMs: 0, counts: { read: 1, inserted: 0, updated: 0, skipped: 0, failed: 0 } });
    expect(row[1]).toBe('running');
    expect(row.at(-1)).toMatch(/^1 min \d+ s so far$/);
    expect(runRow({ startedAt, status: 'succeeded', durationMs: 1500, counts: { read: 1, inserted: 1, updated: 0, skipped: 0, failed: 0 } }).at(-1)).toBe('1.5 s');
  });
});

describe('hints name the scheme as the user gave it', () => {
  it('no literal <scheme> in a run report, the overview or the queue', async () => {
    const dir = tempDir('qiao-hint-');
    const state = join(dir, 'state');
    const file = writeTemp(dir, 'p.yaml', memoryScheme({ id: 'hinted', count: 20, poisonEvery: 10, targetFile: join(dir, 't.jsonl') }));
    const run = await qiao(['run', file, '--state', state, '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { errors: { hint: string }[] };
    expect(report.errors[0]!.hint).toContain(`qiao queue retry ${file}`);
    const overview = await qiao(['overview', 'hinted', '--state', state, '--json']);
    const o = JSON.parse(overview.stdout) as { deadLetters: { diagnosis: string }[] };
    expect(o.deadLetters[0]!.diagnosis).toContain('qiao queue retry hinted');
    const queue = await qiao(['queue', 'hinted', '--state', state, '--status', 'dead', '--json']);
    expect(queue.stdout).toContain('qiao queue retry hinted');
    for (const r of [run, overview, queue]) expect(r.stdout + r.stderr).not.toContain('<scheme>');
  }, 120_000);
});

describe('both systems checked, named once', () => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;
  let env: Record<string, string>;
  const state = join(tempDir('qiao-details-'), 'state');

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 20, seed: 5 });
    bip = await startYonbipSandbox({});
    env = { ...simulatorEnv(okki, bip), OKKI_REQUESTS_PER_SECOND: '200', YONBIP_REQUESTS_PER_SECOND: '200' };
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
  });

  it('check names each system once', async () => {
    const r = await qiao(['check', TEMPLATE], { env: { ...env, YONBIP_APP_SECRET: 'wrong-secret-000' } });
    expect(r.code).toBe(3);
    const target = r.stderr.split('\n').find((l) => l.includes(' target '))!;
    expect(target).toMatch(/^✗ target 用友 YonBIP \(yonbip\): getAccessToken: /);
    expect(target.split('YonBIP').length - 1).toBe(1);
  }, 120_000);

  it('a run with nothing to write still finds a wrong YonBIP secret (exit 3); the cursor is printed in UTC', async () => {
    const first = await qiao(['run', TEMPLATE, '--state', state], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/cursor: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(source time .* \+08:00\)/);
    expect(first.stderr).toMatch(/\(started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)/);
    const writes = bip.counters.save;
    const wrong = await qiao(['run', TEMPLATE, '--state', state, '--json'], { env: { ...env, YONBIP_APP_SECRET: 'wrong-secret-000' } });
    expect(wrong.code, wrong.stderr).toBe(3);
    const report = JSON.parse(wrong.stdout) as { status: string; fatal: { code: string; hint: string }; counts: { inserted: number; updated: number } };
    expect(report).toMatchObject({ status: 'failed', counts: { inserted: 0, updated: 0 } });
    expect(report.fatal.code).toMatch(/^yonbip\./);
    expect(report.fatal.hint).toMatch(/YONBIP_APP_SECRET/);
    expect(bip.counters.save).toBe(writes);
    expect(wrong.stdout + wrong.stderr).not.toContain('wrong-secret-000');
  }, 120_000);
});

describe('a state folder the user may read but not write', () => {
  // root writes wherever it likes: the commands run as the unprivileged user `nobody` (setpriv)
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const canDrop = process.getuid?.() === 0 && setpriv !== undefined;
  it.skipIf(!canDrop)('overview, queue and runs read it; run says it cannot write there', async () => {
    const dir = tempDir('qiao-ro-');
    const state = join(dir, 'state');
    const file = writeTemp(dir, 'p.yaml', memoryScheme({ id: 'readonly', count: 20, poisonEvery: 10, targetFile: join(dir, 't.jsonl') }));
    expect((await qiao(['run', file, '--state', state])).code).toBe(1);
    chmodSync(dir, 0o755);
    chmodSync(state, 0o555);
    for (const f of readdirSync(state)) chmodSync(join(state, f), 0o444);
    const as = (args: string[]) =>
      spawnSync(setpriv!, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
        env: { ...process.env, HOME: dir, NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const overview = as(['overview', 'readonly', '--state', state, '--json']);
    expect(overview.status, overview.stderr).toBe(0);
    expect(JSON.parse(overview.stdout)).toMatchObject({ scheme: 'readonly', queue: { dead: 2 } });
    const queue = as(['queue', 'readonly', '--state', state, '--status', 'dead']);
    expect(queue.status, queue.stderr).toBe(0);
    expect(queue.stdout).toContain('2 dead');
    const runs = as(['runs', 'readonly', '--state', state, '--json']);
    expect(runs.status, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout)).toHaveLength(1);
    // nothing was created in the folder
    expect(readdirSync(state)).toEqual(['state.db']);
    // a command that writes says why it cannot
    const run = as(['run', file, '--state', state]);
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(/cannot be written: it is read-only/);
    chmodSync(state, 0o755);
  }, 180_000);
});
