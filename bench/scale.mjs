#!/usr/bin/env node
// bench/scale: 100k OKKI customers into an empty YonBIP end to end, zero-latency simulators, fast
// limits (100,000 requests/s, concurrency 8 per connection). qiao runs as the built CLI in a child
// process (`qiao run <template> --state DIR --json --quiet`); the simulators run in this process, so
// the peak RSS measured is qiao's alone: getrusage maxRSS of the child, written by bench/rss-hook.mjs
// (preloaded with node --import) in the child's `exit` event. Prints wall time, run time, records/s
// and the child's peak RSS. Goal: peak RSS <= 200 MB.
import { rmSync } from 'node:fs';
import { machine, runCli, schemeEnv, startSimulators, tempDir } from './lib.mjs';

const N = Number(process.env.BENCH_COUNT ?? 100_000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);

const sims = await startSimulators({ customers: N });
const dir = tempDir('qiao-bench-scale-');
let r;
try {
  r = await runCli(schemeEnv(sims, { okkiConcurrency: C, bipConcurrency: C }), { stateDir: dir });
} finally {
  await sims.stop();
  rmSync(dir, { recursive: true, force: true });
}
const c = sims.yonbip.counters;
if (r.report.counts.inserted !== N || c.inserts !== N) {
  throw new Error(`expected ${N} inserted: report ${JSON.stringify(r.report.counts)}, YonBIP simulator ${c.inserts} inserts`);
}
const rate = Math.round((N * 1000) / r.report.durationMs);
console.log(
  `scale: ${N} customers end to end in ${(r.wallMs / 1000).toFixed(1)} s (run ${(r.report.durationMs / 1000).toFixed(1)} s = ${rate} customers/s, qiao CPU ${(r.cpuMs / 1000).toFixed(1)} s), qiao peak RSS ${r.peakRssMb} MB (goal <= 200 MB) [${machine()}]`,
);
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'scale', customers: N, concurrency: C, wallMs: r.wallMs, runMs: r.report.durationMs, customersPerSecond: rate, peakRssMb: r.peakRssMb, cpuMs: r.cpuMs }));
}
