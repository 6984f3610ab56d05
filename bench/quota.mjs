#!/usr/bin/env node
// bench/quota: how close the adaptive limiter gets to a quota it is not told about. YonBIP publishes
// 40–60 calls a minute for some APIs, documents no window and sends no Retry-After; it refuses with
// 310039 on HTTP 200. Here a server on 127.0.0.1 lets N calls through per window of W ms (scaled down
// in time: 20 per 5 s by default, 4 a second) and refuses the others the same way; it applies nothing
// it refuses. qiao's side is the template's YonBIP defaults: 10 requests a second, 4 in flight, the
// default retry policy; M calls (half POSTs that are not idempotent) through core's HttpClient, 4 at a
// time as the executor writes.
//
// Prints the wall time against what the quota allows for the M calls it let through:
// - burst: (ceil(M / N) − 1) × W — a client that sends N calls at the start of each window;
// - rate: M / (N / W) — a client that keeps to the long-run rate;
// and the rate-limit answers, in all and per third of the run. Goal: within 15% of the burst figure.
//
// BENCH_CALLS (300), BENCH_QUOTA (20), BENCH_WINDOW_MS (5000), BENCH_WINDOW (sliding | fixed),
// BENCH_REFUSAL (310039 | 429), BENCH_LATENCY_MS (20, per answer), BENCH_JSON=1.
import http from 'node:http';
import { defaultRetryPolicy, HttpClient, Limiter, silentLogger } from '@qiao/core';
import { machine } from './lib.mjs';

const M = Number(process.env.BENCH_CALLS ?? 300);
const N = Number(process.env.BENCH_QUOTA ?? 20);
const W = Number(process.env.BENCH_WINDOW_MS ?? 5000);
const KIND = process.env.BENCH_WINDOW ?? 'sliding';
const REFUSAL = process.env.BENCH_REFUSAL ?? '310039';
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 20);

const t0 = Date.now();
const accepted = [];
const refused = [];
const applied = new Map();
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = Date.now() - t0;
    const inWindow =
      KIND === 'sliding' ? accepted.filter((a) => a > t - W).length : accepted.filter((a) => Math.floor(a / W) === Math.floor(t / W)).length;
    const answer = (status, body) => setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(body), LATENCY);
    if (inWindow >= N) {
      refused.push(t);
      return REFUSAL === '429' ? answer(429, '{}') : answer(200, '{"code":"310039","message":"当前 app 访问频率超出限制(app 限流)，请稍后再试"}');
    }
    accepted.push(t);
    if (req.method === 'POST') {
      const { id } = JSON.parse(Buffer.concat(chunks).toString());
      applied.set(id, (applied.get(id) ?? 0) + 1);
    }
    answer(200, '{"code":"200","data":{}}');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const limiter = new Limiter({ requestsPerSecond: 10, concurrency: 4 });
const client = new HttpClient({
  system: 'bench',
  label: 'Quota',
  limiter,
  retry: defaultRetryPolicy,
  logger: silentLogger,
  secrets: [],
  classify: (res) => {
    if (res.json?.code === '310039') return { kind: 'retry', reason: 'bench.310039', message: 'throttled', rateLimited: true };
    if (res.status === 429) return { kind: 'retry', reason: 'bench.429', message: 'HTTP 429' };
    return { kind: 'ok' };
  },
});

let next = 0;
let failed = 0;
const started = Date.now();
const worker = async () => {
  for (let i = next++; i < M; i = next++) {
    const request = i % 2 ? { method: 'POST', url: `${base}/save`, json: { id: `r${i}` } } : { method: 'GET', url: `${base}/list?i=${i}` };
    await client.request(request).catch(() => failed++);
  }
};
await Promise.all(Array.from({ length: 4 }, worker));
const wallMs = Date.now() - started;
await new Promise((r) => server.close(r));

const burstMs = (Math.ceil(M / N) - 1) * W + LATENCY;
const rateMs = (M * W) / N;
const end = Math.max(...accepted);
const thirds = [0, 1, 2].map((k) => refused.filter((t) => t >= (k * end) / 3 && t < ((k + 1) * end) / 3).length);
const stats = limiter.stats;
const result = {
  calls: M,
  quota: `${N} per ${W} ms (${KIND}, ${REFUSAL})`,
  wallMs,
  burstMs,
  rateMs,
  vsBurst: +(wallMs / burstMs).toFixed(3),
  vsRate: +(wallMs / rateMs).toFixed(3),
  rateLimitAnswers: refused.length,
  rateLimitAnswersByThird: thirds,
  failed,
  appliedTwice: [...applied.values()].filter((n) => n > 1).length,
  throttledMs: stats.throttledMs,
  learnedPerSecond: +(stats.ratePerSecond ?? Number.NaN).toFixed(2),
  allowedPerSecond: (N * 1000) / W,
  machine: machine(),
};
console.log(
  `quota: ${M} calls against ${result.quota}: ${(wallMs / 1000).toFixed(1)} s — ${((result.vsBurst - 1) * 100).toFixed(1)}% over the burst figure ` +
    `(${(burstMs / 1000).toFixed(1)} s), ${((result.vsRate - 1) * 100).toFixed(1)}% over the rate figure (${(rateMs / 1000).toFixed(1)} s); ` +
    `${refused.length} rate-limit answers (by third: ${thirds.join(' / ')}); ${failed} failed, ${result.appliedTwice} applied twice; ` +
    `throttled ${(stats.throttledMs / 1000).toFixed(1)} s; learned ${result.learnedPerSecond}/s of ${result.allowedPerSecond}/s allowed`,
);
if (process.env.BENCH_JSON) console.log(JSON.stringify(result));
