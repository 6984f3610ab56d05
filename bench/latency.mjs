#!/usr/bin/env node
// bench/latency: both simulators answer every request after L = 50 ms; 1,000 customers; concurrency
// C = 8 per connection, no rate limit. Prints qiao's wall time against the ideal for these limits.
// Goal: within 10% of the ideal (issue 13).
//
// The ideal, with N customers, P = ceil(N / 100) list pages, every request taking exactly L and C
// requests in flight per connection:
//   OKKI pipeline  = L · (2 + ceil((N + P − 1) / C))     token, page 1, then N infos and the P − 1
//                                                        later list calls on C slots
//   BIP pipeline   = L · (2 + ceil(2N / C))              gateway lookup, token, then one merchant/list
//                                                        and one merchant/save per customer on C slots
//   ideal          = max(OKKI pipeline, 3L + BIP pipeline)
// The BIP side cannot start before the first customer is read (OKKI token + list + info = 3L); after
// that the OKKI side delivers ~C customers per L while BIP needs 2 calls per customer, so with these
// figures BIP is the bottleneck and the ideal is 3L + L · (2 + 2N/C) = 12.75 s for N = 1000, C = 8.
// Everything qiao adds (batching window, scheduling, local HTTP, SQLite) shows as the excess.
//
// qiao runs as the built CLI in a child process (`qiao run … --json`), so the simulators, which run in
// this process, do not share its event loop (real servers do not either). The figure compared with
// the ideal is the run's own duration from its report (lock to report); the child's wall time, which
// adds node start-up, module loading and the scheme check, is printed beside it.
import { rmSync } from 'node:fs';
import { machine, runCli, schemeEnv, startSimulators, tempDir } from './lib.mjs';

const N = Number(process.env.BENCH_COUNT ?? 1000);
const L = Number(process.env.BENCH_LATENCY_MS ?? 50);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const P = Math.ceil(N / 100);
const okkiIdeal = L * (2 + Math.ceil((N + P - 1) / C));
const bipIdeal = L * (2 + Math.ceil((2 * N) / C));
const ideal = Math.max(okkiIdeal, 3 * L + bipIdeal);

const sims = await startSimulators({ customers: N, latencyMs: L });
const dir = tempDir('qiao-bench-latency-');
let result;
try {
  result = await runCli(schemeEnv(sims, { okkiConcurrency: C, bipConcurrency: C }), { stateDir: dir });
} finally {
  await sims.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (result.report.counts.inserted !== N) throw new Error(`expected ${N} inserted: ${JSON.stringify(result.report.counts)}`);
const c = sims.yonbip.counters;
const o = sims.okki.counters;
const runMs = result.report.durationMs;
const excess = runMs / ideal - 1;
console.log(
  `latency: ${N} customers, ${L} ms per request, concurrency ${C}; run ${(runMs / 1000).toFixed(2)} s (process ${(result.wallMs / 1000).toFixed(2)} s) vs ideal ${(ideal / 1000).toFixed(2)} s (OKKI ${(okkiIdeal / 1000).toFixed(2)} s, 3L + BIP ${((3 * L + bipIdeal) / 1000).toFixed(2)} s) = ${excess >= 0 ? '+' : ''}${(excess * 100).toFixed(1)}% (goal within 10%); calls OKKI ${o.token}+${o.list}+${o.info}, BIP ${c.lookup}+${c.token}+${c.list}+${c.save} [${machine()}]`,
);
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'latency', customers: N, latencyMs: L, concurrency: C, runMs, processMs: result.wallMs, idealMs: ideal, okkiIdealMs: okkiIdeal, bipIdealMs: 3 * L + bipIdeal, excess }));
}
