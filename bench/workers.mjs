#!/usr/bin/env node
// bench/workers: `qiao worker` scaled out, 1, 2 and 4 worker processes on one Redis and one PostgreSQL,
// running 4 schemes of 4 separate YonBIP apps (each scheme its own OKKI and YonBIP simulators).
//
// Each scheme is the okki-to-yonbip template with its variables renamed per scheme (S1_OKKI_…,
// S1_YONBIP_…), YONBIP_API=classic (a lookup and a save per new customer: the write side is bound by
// calls, as every per-record endpoint is; with V2 batches of 100 a first sync needs a few dozen calls
// and there is nothing to scale), every YonBIP call answered after BENCH_LATENCY_MS (100) ms, and
// YONBIP_CONCURRENCY=2: one worker keeps 2 calls per app in flight, so one worker's throughput is
// bound by the remote latency, not by this machine's 2 cores, as a real YonBIP is.
//
// Part 1 (no shared limit binds): each app allows 1,000 calls/s. Throughput (customers written per
//   second, all four apps, between 10% and 90% of the customers) at 1, 2 and 4 workers.
//   Goal (issue 19): ≥ 3.5× at 4 workers against 1.
// Part 2 (the shared limit binds): each app's limit R = BENCH_R (30) calls/s, in qiao's scheme and
//   enforced by the simulator (310039 beyond R in a second). Calls per second per app, the busiest
//   sliding second at any app, and the limit answers, at 1, 2 and 4 workers. Goal: stays at R per app
//   once the limit binds, with 0 limit answers.
//
// Needs PostgreSQL and Redis (QIAO_TEST_DATABASE_URL, QIAO_TEST_REDIS_URL; default 127.0.0.1).
// `npx tsc -b` first. BENCH_COUNT customers per scheme (600), BENCH_WORKERS (1,2,4), BENCH_PARTS (1,2).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { machine, QIAO_BIN, tempDir, TEMPLATE } from './lib.mjs';

const COUNT = Number(process.env.BENCH_COUNT ?? 600);
const SCHEMES = 4;
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 100);
const R = Number(process.env.BENCH_R ?? 30);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const PARTS = (process.env.BENCH_PARTS ?? '1,2').split(',').map(Number);
const DATABASE = process.env.QIAO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.QIAO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = () => randomBytes(4).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The busiest sliding second of a list of arrival times (ms). */
function busiestSecond(times) {
  const t = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i] - t[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** When the customer count first reached `n`, from the samples [time, count]. */
const reached = (samples, n) => samples.find(([, c]) => c >= n)?.[0];

async function round(workers, limitPerApp) {
  const { startOkkiSandbox } = await import('@qiao/connector-okki/sandbox');
  const { startYonbipSandbox } = await import('@qiao/connector-yonbip/sandbox');
  const schema = `qiao_bench_workers_${unique()}`;
  const dir = join(tempDir('qiao-bench-workers-'), 'schemes');
  mkdirSync(dir);
  const template = readFileSync(TEMPLATE, 'utf8');
  if (!/^id: .*$/m.test(template) || !/cron: ".*"/.test(template)) throw new Error('the template has no id or cron line any more: adjust bench/workers.mjs');
  const env = {
    QIAO_DATABASE_URL: `${DATABASE}${DATABASE.includes('?') ? '&' : '?'}schema=${schema}`,
    QIAO_STATE_DIR: '',
    QIAO_REDIS_URL: REDIS,
    QIAO_REDIS_PREFIX: `qiao-bench-${unique()}`,
  };
  const sims = [];
  for (let s = 1; s <= SCHEMES; s++) {
    const okki = await startOkkiSandbox({ customers: COUNT, seed: s, clientId: `client-${unique()}` });
    const bip = await startYonbipSandbox({ appKey: `app-${unique()}`, latencyMs: LATENCY, ...(limitPerApp < 1000 ? { rateLimitPerSecond: limitPerApp } : {}) });
    sims.push({ okki, bip });
    const p = `S${s}_`;
    writeFileSync(
      join(dir, `s${s}.scheme.yaml`),
      template
        .replace(/^id: .*$/m, `id: bench-scheme-${s}`)
        .replace(/cron: ".*"/, 'cron: "* * * * * *"')
        .replaceAll('${env:OKKI_', `\${env:${p}OKKI_`)
        .replaceAll('${env:YONBIP_', `\${env:${p}YONBIP_`),
    );
    Object.assign(env, {
      [`${p}OKKI_BASE_URL`]: okki.url,
      [`${p}OKKI_CLIENT_ID`]: okki.credentials.clientId,
      [`${p}OKKI_CLIENT_SECRET`]: okki.credentials.clientSecret,
      [`${p}OKKI_REQUESTS_PER_SECOND`]: '1000',
      [`${p}OKKI_CONCURRENCY`]: '8',
      [`${p}YONBIP_TENANT_ID`]: bip.credentials.tenantId,
      [`${p}YONBIP_DATA_CENTER_URL`]: bip.dataCenterUrl,
      [`${p}YONBIP_APP_KEY`]: bip.credentials.appKey,
      [`${p}YONBIP_APP_SECRET`]: bip.credentials.appSecret,
      [`${p}YONBIP_CREATE_ORG`]: '1870412293664489473',
      [`${p}YONBIP_CUSTOMER_CLASS`]: '1870412293664489611',
      [`${p}YONBIP_REQUESTS_PER_SECOND`]: String(limitPerApp),
      [`${p}YONBIP_CONCURRENCY`]: '2',
      [`${p}YONBIP_API`]: 'classic',
    });
  }
  const children = [];
  const logs = [];
  const total = SCHEMES * COUNT;
  const samples = [];
  const admin = new pg.Pool({ connectionString: DATABASE, max: 1 });
  try {
    const t0 = performance.now();
    for (let w = 0; w < workers; w++) {
      const child = spawn(QIAO_BIN, ['worker', '--schemes', dir, '--runs', String(SCHEMES)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr.on('data', (d) => (log += d));
      children.push(child);
      logs.push(() => log);
    }
    const deadline = t0 + Math.max(240_000, (total / (limitPerApp * SCHEMES)) * 2 * 1000 * 3);
    for (;;) {
      const count = sims.reduce((n, s) => n + s.bip.merchants().length, 0);
      samples.push([performance.now(), count]);
      if (count >= total) break;
      if (performance.now() > deadline) throw new Error(`${workers} worker(s): ${count} of ${total} customers after ${Math.round((performance.now() - t0) / 1000)} s\n${logs.map((l) => l().slice(-2000)).join('\n---\n')}`);
      for (const c of children) if (c.exitCode !== null) throw new Error(`a worker exited ${c.exitCode}: ${logs[children.indexOf(c)]().slice(-2000)}`);
      await sleep(100);
    }
    const t10 = reached(samples, total * 0.1);
    const t90 = reached(samples, total * 0.9);
    const perSecond = (total * 0.8) / ((t90 - t10) / 1000);
    // the gateway's business calls between the 10% and 90% marks, per app and second
    const callRates = sims.map((s) => s.bip.gatewayTimes.filter((t) => t >= t10 && t <= t90).length / ((t90 - t10) / 1000));
    const codes = new Map();
    for (const s of sims) for (const m of s.bip.merchants()) codes.set(`${s.bip.credentials.appKey}/${m.code}`, (codes.get(`${s.bip.credentials.appKey}/${m.code}`) ?? 0) + 1);
    const doubled = [...codes.values()].filter((n) => n > 1).length;
    return {
      workers,
      limitPerApp,
      customers: total,
      wallS: Math.round((samples.at(-1)[0] - t0) / 100) / 10,
      customersPerSecond: Math.round(perSecond * 10) / 10,
      callsPerSecondPerApp: callRates.map((r) => Math.round(r * 10) / 10),
      busiestSecondPerApp: sims.map((s) => busiestSecond(s.bip.gatewayTimes)),
      limitAnswers: sims.reduce((n, s) => n + s.bip.counters.rateLimited, 0),
      doubled,
      exact: codes.size === total && doubled === 0,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    for (const s of sims) await Promise.allSettled([s.okki.stop(), s.bip.stop()]);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

const results = [];
console.log(`bench workers · ${machine()} · ${SCHEMES} schemes × ${COUNT} customers, YonBIP classic, ${LATENCY} ms a call, 2 in flight per app per worker`);
for (const part of PARTS) {
  const limit = part === 1 ? 1000 : R;
  for (const w of WORKERS) {
    const r = await round(w, limit);
    results.push({ part, ...r });
    console.log(
      `part ${part} (limit ${limit}/s per app) · ${w} worker(s): ${r.customersPerSecond} customers/s (${r.wallS} s in all) · calls/s per app ${r.callsPerSecondPerApp.join(' ')} · busiest second ${Math.max(...r.busiestSecondPerApp)} · limit answers ${r.limitAnswers} · exactly once ${r.exact}`,
    );
  }
  const base = results.find((r) => r.part === part && r.workers === WORKERS[0]);
  for (const r of results.filter((x) => x.part === part && x !== base)) {
    console.log(`part ${part}: ${r.workers} workers / ${base.workers}: ${(r.customersPerSecond / base.customersPerSecond).toFixed(2)}×`);
  }
}
if (process.env.BENCH_JSON) console.log(JSON.stringify({ bench: 'workers', results }));
if (results.some((r) => !r.exact)) {
  console.error('some customer is missing or doubled');
  process.exit(1);
}
