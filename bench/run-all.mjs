#!/usr/bin/env node
// `npm run bench`: runs every benchmark, each in its own process, one after the other, and passes on
// what each prints (one line of figures; BENCH_JSON=1 adds one JSON line). Exits 1 when a benchmark
// fails (the others still run). Figures to compare against: bench/RESULTS.md.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = ['engine.mjs', 'durable.mjs', 'vs-handwritten.mjs', 'realistic-latency.mjs', 'rate-limit.mjs', 'rate-limit-minute.mjs', 'quota.mjs', 'latency.mjs', 'scale.mjs'];
const only = process.argv.slice(2);

let failed = 0;
for (const name of BENCHMARKS) {
  if (only.length && !only.some((o) => name.startsWith(o))) continue;
  const file = fileURLToPath(new URL(name, import.meta.url));
  const t0 = performance.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', () => resolve(-1));
    child.on('close', (c) => resolve(c));
  });
  if (code !== 0) {
    failed++;
    console.log(`${name.replace(/\.mjs$/, '')}: FAILED (exit ${code}) after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
process.exit(failed ? 1 : 0);
