#!/usr/bin/env node
// bench/rate-limit: the YonBIP simulator admits R gateway calls per calendar second (more get 310039),
// and the okki-to-yonbip template runs with YONBIP_REQUESTS_PER_SECOND=R (OKKI side unlimited).
// Prints the achieved rate of BIP gateway calls (merchant/list + merchant/save) over the steady part of
// the run as a share of R, and how many rate-limit answers (310039) qiao provoked.
// Goal: >= 95% of R with zero 310039 answers.
//
// Steady part: from 1 s after the first gateway call to 1 s before the last (the first second holds
// the gateway lookup and token calls, which pass the same limiter; the last is a partial second).
// The simulator's counters are polled every 10 ms in this process; the rate is the least-squares
// slope of calls over time in the steady part.
import { rmSync } from 'node:fs';
import { machine, runQiao, schemeEnv, startSimulators, tempDir } from './lib.mjs';

const R = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
// two gateway calls (lookup by code + save) per customer
const CUSTOMERS = Number(process.env.BENCH_COUNT ?? Math.round((R * SECONDS) / 2));

const sims = await startSimulators({ customers: CUSTOMERS, yonbip: { rateLimitPerSecond: R } });
const dir = tempDir('qiao-bench-rate-');
const gatewayCalls = () => sims.yonbip.counters.list + sims.yonbip.counters.save + sims.yonbip.counters.detail;
const samples = [];
const poll = setInterval(() => samples.push([performance.now(), gatewayCalls()]), 10);
let result;
try {
  result = await runQiao(schemeEnv(sims, { bipRps: R, bipConcurrency: 8, okkiConcurrency: 8 }), { stateDir: dir });
} finally {
  clearInterval(poll);
  samples.push([performance.now(), gatewayCalls()]);
  await sims.stop();
  rmSync(dir, { recursive: true, force: true });
}
const c = sims.yonbip.counters;
if (result.report.counts.inserted !== CUSTOMERS) throw new Error(`expected ${CUSTOMERS} inserted: ${JSON.stringify(result.report.counts)}`);

// time of the first and last gateway call seen, then the steady window inside them
const first = samples.find(([, n]) => n > 0)[0];
const total = samples[samples.length - 1][1];
const last = samples.find(([, n]) => n >= total)[0];
const t1 = first + 1000;
const t2 = last - 1000;
// Calls start in bursts (up to R at the start of each window), so the count is a staircase: its
// least-squares slope over the steady part is the rate, whatever the phase of the window ends.
const steady = samples.filter(([t]) => t >= t1 && t <= t2);
const mt = steady.reduce((a, [t]) => a + t, 0) / steady.length;
const mn = steady.reduce((a, [, n]) => a + n, 0) / steady.length;
const slope = steady.reduce((a, [t, n]) => a + (t - mt) * (n - mn), 0) / steady.reduce((a, [t]) => a + (t - mt) ** 2, 0);
const steadyRate = slope * 1000;
const overallRate = (total * 1000) / (last - first);
const share = steadyRate / R;
console.log(
  `rate-limit: R=${R}/s, ${CUSTOMERS} customers, ${total} BIP gateway calls in ${((last - first) / 1000).toFixed(1)} s; steady ${steadyRate.toFixed(2)}/s = ${(share * 100).toFixed(1)}% of R (overall ${overallRate.toFixed(2)}/s), rate-limit answers (310039) ${c.rateLimited} (goal >= 95% of R, 0 answers) [${machine()}]`,
);
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'rate-limit', R, customers: CUSTOMERS, gatewayCalls: total, steadyRate, overallRate, share, rateLimited: c.rateLimited, wallMs: result.ms, counters: { ...c } }));
}
