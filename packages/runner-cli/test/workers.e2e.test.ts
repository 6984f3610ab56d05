import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunReport } from '@qiao/core';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, startQiao, tempDir, waitFor, type QiaoResult } from './helpers.js';
import { busiestWindow } from './sliding-window.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const SERVER = new URL(process.env.QIAO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const REDIS_URL = process.env.QIAO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEME = 'okki-company-to-yonbip-merchant';
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../../tmp/screenshots/', import.meta.url));

const databaseUrl = (schema: string) => {
  const u = new URL(SERVER);
  u.searchParams.set('schema', schema);
  return u.toString();
};
const unique = () => randomBytes(4).toString('hex');

/** The template with a schedule of every 5 seconds, in a folder of its own. */
function schemesDir(): string {
  const dir = join(tempDir('qiao-workers-'), 'schemes');
  mkdirSync(dir);
  writeFileSync(join(dir, 'okki.scheme.yaml'), readFileSync(TEMPLATE, 'utf8').replace(/cron: ".*"/, 'cron: "*/5 * * * * *"'));
  return dir;
}

interface Worker {
  child: ChildProcess;
  done: Promise<QiaoResult>;
  stderr: () => string;
}

const started: Worker[] = [];

function startWorker(dir: string, env: Record<string, string>): Worker {
  const w = startQiao(['worker', '--schemes', dir], { env });
  let stderr = '';
  w.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const worker = { ...w, stderr: () => stderr };
  started.push(worker);
  return worker;
}

/** Waits for `cond`; on a timeout, the workers' logs say why. */
async function waitOrShow(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  try {
    await waitFor(cond, timeoutMs, what);
  } catch (e) {
    for (const w of started) console.error(`--- worker ${w.child.pid}\n${w.stderr().slice(-3000)}`);
    throw e;
  }
}

async function runs(env: Record<string, string>): Promise<RunReport[]> {
  const r = await qiao(['runs', SCHEME, '--json'], { env });
  if (r.code !== 0) return [];
  return JSON.parse(r.stdout) as RunReport[];
}

/** The first run of the shared history that `match` accepts, waited for up to a minute. */
async function runFound(env: Record<string, string>, match: (r: RunReport) => boolean): Promise<RunReport | undefined> {
  for (let i = 0; i < 60; i++) {
    const hit = (await runs(env)).find(match);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}

/** Each code of the YonBIP customers, counted. */
function codesOf(bip: YonbipSandbox): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of bip.merchants()) m.set(String(c.code), (m.get(String(c.code)) ?? 0) + 1);
  return m;
}

describe('qiao worker: N equal workers on BullMQ, state in PostgreSQL, one rate limit per app', () => {
  const admin = new pg.Pool({ connectionString: SERVER.toString(), max: 2 });
  const schemas: string[] = [];
  const children: ChildProcess[] = [];
  const sandboxes: Array<{ stop: () => Promise<void> }> = [];

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of sandboxes) await s.stop();
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.end();
  });

  async function setup(customers: number, R: number): Promise<{ okki: OkkiSandbox; bip: YonbipSandbox; env: Record<string, string>; dir: string }> {
    const okki = await startOkkiSandbox({ customers, seed: 19, clientId: `client-${unique()}` });
    // refuses (310039) what goes beyond R in a calendar second; the test checks every sliding second itself
    const bip = await startYonbipSandbox({ rateLimitPerSecond: R, appKey: `app-${unique()}` });
    sandboxes.push(okki, bip);
    const schema = `qiao_workers_${unique()}`;
    schemas.push(schema);
    const env = {
      ...simulatorEnv(okki, bip),
      OKKI_REQUESTS_PER_SECOND: '200',
      OKKI_CONCURRENCY: '8',
      YONBIP_REQUESTS_PER_SECOND: String(R),
      YONBIP_CONCURRENCY: '4',
      QIAO_DATABASE_URL: databaseUrl(schema),
      QIAO_STATE_DIR: '',
      QIAO_REDIS_URL: REDIS_URL,
      QIAO_REDIS_PREFIX: `qiao-test-${unique()}`,
    };
    return { okki, bip, env, dir: schemesDir() };
  }

  it('4 workers, 2,000 customers, YonBIP limited to R a second, one worker SIGKILLed mid-run: never more than R in any sliding second, every customer exactly once', async () => {
    const R = 60;
    const { bip, env, dir } = await setup(2000, R);
    const workers = Array.from({ length: 4 }, () => startWorker(dir, env));
    children.push(...workers.map((w) => w.child));

    // mid-run: kill a worker that is only writing (not the one that took the run)
    await waitOrShow(() => bip.merchants().length >= 500, 120_000, '500 customers in YonBIP');
    const owner = workers.findIndex((w) => /run \S+ runs on/.test(w.stderr()));
    expect(owner).toBeGreaterThanOrEqual(0);
    const victim = workers[(owner + 1) % 4]!;
    victim.child.kill('SIGKILL');
    const killedAt = bip.merchants().length;
    expect(killedAt).toBeLessThan(2000);

    await waitOrShow(() => bip.merchants().length >= 2000, 150_000, 'every customer in YonBIP');
    // the run reports itself done in the shared state
    const report = await runFound(env, (r) => r.status === 'succeeded' && r.counts.inserted > 0);
    expect(report, 'a succeeded run in the shared state').toBeDefined();

    // every customer exactly once
    const codes = codesOf(bip);
    expect(codes.size).toBe(2000);
    expect([...codes.values()].filter((n) => n > 1)).toEqual([]);
    expect(bip.merchants()).toHaveLength(2000);
    // YonBIP never saw more than R calls in any sliding second, and never refused one
    expect(busiestWindow(bip.gatewayTimes)).toBeLessThanOrEqual(R);
    expect(bip.counters.rateLimited).toBe(0);
    // the killed worker's jobs were taken over by the others after the stall timeout
    const survivors = workers.filter((w) => w !== victim);
    expect(survivors.some((w) => /took over write job/.test(w.stderr()))).toBe(true);
    expect((await victim.done).signal).toBe('SIGKILL');

    // graceful stop
    for (const w of survivors) w.child.kill('SIGTERM');
    const ends = await Promise.all(survivors.map((w) => w.done));
    expect(ends.map((e) => e.code)).toEqual([0, 0, 0]);
    expect(ends[0]!.stderr).toContain('stopped; what was not written stays queued');
  }, 240_000);

  it('the worker running the scheme SIGKILLed mid-run: another takes the run back (the lock of a dead pid on this host at once; across hosts after its lease), and every customer is written exactly once', async () => {
    const R = 40;
    const { bip, env, dir } = await setup(800, R);
    const workers = Array.from({ length: 2 }, () => startWorker(dir, env));
    children.push(...workers.map((w) => w.child));
    await waitOrShow(() => bip.merchants().length >= 150, 120_000, '150 customers in YonBIP');
    const owner = workers.findIndex((w) => /run \S+ runs on/.test(w.stderr()));
    expect(owner).toBeGreaterThanOrEqual(0);
    const victim = workers[owner]!;
    const survivor = workers[1 - owner]!;
    victim.child.kill('SIGKILL');
    const killedAt = bip.merchants().length;
    expect(killedAt).toBeLessThan(800);

    // the stall check hands the run job to the survivor, which takes over the dead holder's lock: the rest is written
    await waitOrShow(() => bip.merchants().length >= 800, 180_000, 'every customer after the run was taken back');
    const report = await runFound(env, (r) => r.status === 'succeeded' && r.counts.inserted > 0);
    expect(report, 'a succeeded run in the shared state').toBeDefined();
    expect(survivor.stderr()).toMatch(/run \S+ runs on/);
    const codes = codesOf(bip);
    expect(codes.size).toBe(800);
    expect([...codes.values()].filter((n) => n > 1)).toEqual([]);
    expect(bip.merchants()).toHaveLength(800);
    expect(busiestWindow(bip.gatewayTimes)).toBeLessThanOrEqual(R);
    expect(bip.counters.rateLimited).toBe(0);

    survivor.child.kill('SIGTERM');
    expect((await survivor.done).code).toBe(0);
  }, 300_000);

  it('Redis stopped mid-run: the run fails naming Redis and what to do; with Redis back, the next run delivers everything exactly once', async () => {
    const port = 6390 + Math.floor(Math.random() * 50);
    const startRedis = () => {
      const r = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
      children.push(r);
      return r;
    };
    let redis = startRedis();
    await new Promise((r) => setTimeout(r, 500));
    const R = 40;
    const { bip, env, dir } = await setup(400, R);
    env.QIAO_REDIS_URL = `redis://127.0.0.1:${port}`;
    const workers = Array.from({ length: 2 }, () => startWorker(dir, env));
    children.push(...workers.map((w) => w.child));

    await waitOrShow(() => bip.merchants().length >= 100, 120_000, '100 customers in YonBIP');
    redis.kill('SIGKILL');
    const atStop = bip.merchants().length;

    const failed = await runFound(env, (r) => r.status === 'failed');
    expect(failed, 'the run failed in the shared state').toBeDefined();
    expect(failed!.fatal?.message).toContain(`Redis at 127.0.0.1:${port} cannot be reached`);
    expect(failed!.fatal?.hint).toContain(`start Redis at 127.0.0.1:${port}`);
    expect(bip.merchants().length).toBeLessThan(400);
    expect(atStop).toBeLessThan(400);

    // Redis back (empty: the workers put the schedule back), the next run delivers the rest
    redis = startRedis();
    await waitOrShow(() => bip.merchants().length >= 400, 120_000, 'every customer after Redis is back');
    const done = await runFound(env, (r) => r.status === 'succeeded' && r.counts.inserted > 0);
    expect(done, 'a succeeded run after Redis is back').toBeDefined();
    const codes = codesOf(bip);
    expect(codes.size).toBe(400);
    expect([...codes.values()].filter((n) => n > 1)).toEqual([]);
    expect(busiestWindow(bip.gatewayTimes)).toBeLessThanOrEqual(R);
    for (const w of workers) expect(w.stderr()).toContain(`Redis at 127.0.0.1:${port}`);

    for (const w of workers) w.child.kill('SIGTERM');
    expect((await Promise.all(workers.map((w) => w.done))).map((e) => e.code)).toEqual([0, 0]);
    redis.kill('SIGTERM');
  }, 200_000);

  it('qiao serve --redis is one of the workers: the schedule fires once across both, and its page shows the shared runs', async () => {
    const { bip, env, dir } = await setup(200, 60);
    const worker = startWorker(dir, env);
    const page = startQiao(['serve', '--schemes', dir, '--port', '0', '--redis', env.QIAO_REDIS_URL!], { env });
    let log = '';
    page.child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    children.push(worker.child, page.child);
    await waitOrShow(() => /run overview at http:\/\/[^\s/]+/.test(log), 60_000, 'the page');
    const url = /run overview at (http:\/\/[^\s/]+)/.exec(log)![1]!;
    expect(log).toContain('one of the workers on Redis 127.0.0.1:6379');
    await waitOrShow(() => bip.merchants().length >= 200, 90_000, 'every customer');
    let overview: Array<{ scheme: string; runs?: Array<{ status: string; counts: { inserted: number } }> }> = [];
    for (let i = 0; i < 30; i++) {
      overview = ((await (await fetch(`${url}/api/overview`)).json()) as { schemes: typeof overview }).schemes;
      if (overview[0]?.runs?.some((r) => r.status === 'succeeded' && r.counts.inserted > 0)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(overview.map((o) => o.scheme)).toEqual([SCHEME]);
    const inserted = overview[0]!.runs!.reduce((n, r) => n + r.counts.inserted, 0);
    expect(inserted).toBe(200);
    expect(codesOf(bip).size).toBe(200);
    expect(bip.merchants()).toHaveLength(200);
    // the page's process runs nothing on a cron of its own: the ticks are the workers' job scheduler's
    expect(log).not.toContain('run started (schedule)');
    // never two runs at once: no two runs of the shared history overlap
    const spans = overview[0]!.runs!.map((r) => {
      const x = r as unknown as { startedAt: string; durationMs: number };
      return [Date.parse(x.startedAt), Date.parse(x.startedAt) + x.durationMs] as const;
    }).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);

    // the page shows every worker of the fleet and its queues
    const fleet = async () => (await (await fetch(`${url}/api/workers`)).json()) as { enabled: boolean; redis: string; workers: Array<{ pid: number; role: string; runs: unknown[]; writing: number }>; queues: Array<{ name: string; kind: string; schemes: string[]; waiting: number; failed: number }> };
    // the workers' scheduler fires the cron; the page still says when it fires next
    const rows = ((await (await fetch(`${url}/api/schemes`)).json()) as { schemes: Array<{ nextRunAt: string | null }> }).schemes;
    expect(Date.parse(rows[0]!.nextRunAt ?? '')).toBeGreaterThan(Date.now() - 1000);
    const f = await fleet();
    expect(f.enabled).toBe(true);
    expect(f.redis).toBe('127.0.0.1:6379');
    expect(f.workers.map((w) => [w.pid, w.role]).sort()).toEqual([[worker.child.pid, 'worker'], [page.child.pid, 'serve']].sort());
    expect(f.queues.map((q) => q.kind)).toEqual(['runs', 'writes']);
    expect(f.queues[1]).toMatchObject({ name: expect.stringMatching(/^writes-yonbip-[0-9a-f]{12}$/), schemes: [SCHEME], failed: 0 });
    if (existsSync(CHROMIUM)) {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
      try {
        const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        await tab.goto(`${url}/`);
        await tab.waitForSelector('#fleet table');
        const text = await tab.locator('#fleet').innerText();
        expect(text).toContain(`pid ${page.child.pid} · serves this page`);
        expect(text).toContain(`pid ${worker.child.pid}`);
        expect(text).toMatch(/writes-yonbip-/);
        mkdirSync(SCREENSHOTS, { recursive: true });
        await tab.screenshot({ path: join(SCREENSHOTS, 'workers-1400x1000.png'), fullPage: true });
      } finally {
        await browser.close();
      }
    }
    // a worker that stops leaves the list at once
    worker.child.kill('SIGTERM');
    expect((await worker.done).code).toBe(0);
    expect((await fleet()).workers.map((w) => w.pid)).toEqual([page.child.pid]);
    page.child.kill('SIGTERM');
    expect((await page.done).code).toBe(0);
  }, 180_000);
});
