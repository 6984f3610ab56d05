#!/usr/bin/env node
// bench/realistic-latency: the comparison of bench/vs-handwritten.mjs at a latency real APIs have:
// both simulators answer every request after L = 20 ms, 1,000 OKKI customers into an empty YonBIP,
// 8 requests in flight per system, no rate limit. qiao (the okki-to-yonbip template through loadScheme
// + runLoadedScheme with a SqliteStateStore, as `qiao run` does) against the hand-written client of
// bench/handwritten.mjs (node:http keep-alive, the same calls, the same records). Simulators in a
// process of their own. One unmeasured warm-up run each (which also checks that both sides write the
// same records through the same calls), then the sides alternate; the figure is the ratio of the
// MEDIANS of the measured runs, in one run of this script. Goal: qiao / hand-written <= 1.10.
//
// What it shows: with the time a user waits dominated by the systems' answers, what qiao adds over a
// minimal client (got and p-queue per request, mapping, the durable queue, checkpoints).
import { assertSameWork, side as measure } from './handwritten.mjs';
import { machine, median } from './lib.mjs';

const CUSTOMERS = Number(process.env.BENCH_COUNT ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const side = (kind, check = false) => measure(kind, { customers: CUSTOMERS, concurrency: CONCURRENCY, latencyMs: LATENCY_MS, check });

const wq = await side('qiao', true);
const wh = await side('hand', true);
assertSameWork(wq, wh);

const q = { ms: [], runMs: [], cpuMs: [] };
const h = { ms: [], cpuMs: [] };
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 === 0 ? ['qiao', 'hand'] : ['hand', 'qiao'];
  for (const kind of order) {
    const r = await side(kind);
    const into = kind === 'qiao' ? q : h;
    into.ms.push(r.ms);
    into.cpuMs.push(r.cpuMs);
    if (kind === 'qiao') q.runMs.push(r.runMs);
  }
}
const ratio = median(q.ms) / median(h.ms);
const runRatio = median(q.runMs) / median(h.ms);
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  `realistic-latency: ${CUSTOMERS} customers, ${LATENCY_MS} ms per request, concurrency ${CONCURRENCY}, calls ${JSON.stringify(wq.calls.bip).replace(/"/g, '')} BIP; qiao median ${fmt(median(q.ms))} (run alone ${fmt(median(q.runMs))}, CPU ${fmt(median(q.cpuMs))}), hand-written median ${fmt(median(h.ms))} (CPU ${fmt(median(h.cpuMs))}); ratio qiao/hand-written ${ratio.toFixed(3)} (median of ${ROUNDS}; run alone ${runRatio.toFixed(3)}) (goal <= 1.10) [${machine()}]`,
);
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'realistic-latency', customers: CUSTOMERS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, qiao: q, hand: h, ratio, runRatio, calls: wq.calls }));
}
