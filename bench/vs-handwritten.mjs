#!/usr/bin/env node
// bench/vs-handwritten: 2,000 OKKI customers into an empty YonBIP, on zero-latency simulators.
// qiao (the okki-to-yonbip template through loadScheme + runLoadedScheme with a SqliteStateStore, as
// `qiao run` does) against a minimal client written for this comparison that makes the same calls:
//   OKKI: one token (client credentials), list pages of 100, one company/info per customer;
//   YonBIP: one data-center gateway lookup, one signed token, then per customer one merchant/list
//   lookup by code and one merchant/save (Insert);
// with the same concurrency (8 requests in flight per system, no rate limit) and node:http keep-alive
// connections. Each side gets fresh simulators (so each side inserts all 2,000 customers), running in a
// process of their own (bench/sims-process.mjs) as remote systems do; BENCH_SIMS=inprocess runs them
// in this process instead, sharing the event loop with the side measured. The sides run alternately,
// after one unmeasured warm-up run each; the figure is the ratio of the MEDIANS of the measured runs
// (best-of and both sides' CPU time are printed too). Kept as a figure of qiao's own cost, with no goal
// since issue 13: at zero latency it measures got and p-queue against bare node:http, which users never
// wait for; bench/realistic-latency.mjs is the comparison with a goal.
import { assertSameWork, side as measure } from './handwritten.mjs';
import { machine, median } from './lib.mjs';

const CUSTOMERS = Number(process.env.BENCH_COUNT ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const CONCURRENCY = 8;
/** BENCH_SIMS=inprocess runs the simulators in this process, sharing its event loop (the earlier setup). */
const IN_PROCESS = process.env.BENCH_SIMS === 'inprocess';
const side = (kind, check = false) => measure(kind, { customers: CUSTOMERS, concurrency: CONCURRENCY, inProcess: IN_PROCESS, check });

// warm-up (unmeasured): JIT, module caches; also checks that both sides write identical records
// through identical calls
const wq = await side('qiao', true);
const wh = await side('hand', true);
assertSameWork(wq, wh);

const q = [];
const qRun = [];
const qCpu = [];
const h = [];
const hCpu = [];
const runQ = async () => {
  const r = await side('qiao');
  q.push(r.ms);
  qRun.push(r.runMs);
  qCpu.push(r.cpuMs);
};
const runH = async () => {
  const r = await side('hand');
  h.push(r.ms);
  hCpu.push(r.cpuMs);
};
for (let i = 0; i < ROUNDS; i++) {
  // alternate which side goes first
  if (i % 2 === 0) {
    await runQ();
    await runH();
  } else {
    await runH();
    await runQ();
  }
}
const mq = median(q);
const mh = median(h);
const ratio = mq / mh;
const bestRatio = Math.min(...q) / Math.min(...h);
// the run alone (the report's duration: without the scheme check and opening the state store)
const runRatio = median(qRun) / mh;
const cpuRatio = median(qCpu) / median(hCpu);
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  `vs-handwritten: ${CUSTOMERS} customers, concurrency ${CONCURRENCY}, simulators ${IN_PROCESS ? 'in this process' : 'in their own process'}, same ${JSON.stringify(wq.calls.bip).replace(/"/g, '')} BIP calls; qiao median ${fmt(mq)} (best ${fmt(Math.min(...q))}, CPU ${fmt(median(qCpu))}), hand-written median ${fmt(mh)} (best ${fmt(Math.min(...h))}, CPU ${fmt(median(hCpu))}); ratio qiao/hand-written ${ratio.toFixed(2)} (median of ${ROUNDS}; best-of ${bestRatio.toFixed(2)}; run without scheme load ${runRatio.toFixed(2)}; client CPU ${cpuRatio.toFixed(2)}) (no goal) [${machine()}]`,
);
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'vs-handwritten', customers: CUSTOMERS, concurrency: CONCURRENCY, qiaoMs: q, qiaoRunMs: qRun, qiaoCpuMs: qCpu, handMs: h, handCpuMs: hCpu, ratio, bestRatio, runRatio, cpuRatio, calls: wq.calls }));
}
