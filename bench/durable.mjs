#!/usr/bin/env node
// bench/durable: the engine benchmark's 100k-record run with the SQLite state store, against the same
// run in memory, each in a fresh process. Prints the ratio durable / in-memory. Goal: <= 1.3.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { engineRun, machine } from './lib.mjs';

const count = Number(process.env.BENCH_COUNT ?? 100_000);
if (process.argv[2] === '--one') {
  const r = await engineRun(count, process.argv[3] === 'durable');
  console.log(JSON.stringify(r));
  process.exit(0);
}
const self = fileURLToPath(import.meta.url);
const one = (mode) => JSON.parse(execFileSync(process.execPath, [self, '--one', mode], { encoding: 'utf8' }).trim().split('\n').pop());
// warm the disk cache and JIT paths once, then measure alternately
one('memory');
const mem = [];
const dur = [];
for (let i = 0; i < 3; i++) {
  mem.push(one('memory'));
  dur.push(one('durable'));
}
const best = (xs) => xs.reduce((a, b) => (a.ms < b.ms ? a : b));
const m = best(mem);
const d = best(dur);
const ratio = d.ms / m.ms;
console.log(
  `durable: ${count} records, in-memory ${(m.ms / 1000).toFixed(2)} s (${m.recordsPerSecond}/s, ${m.peakRssMb} MB), SQLite ${(d.ms / 1000).toFixed(2)} s (${d.recordsPerSecond}/s, ${d.peakRssMb} MB), ratio durable/in-memory ${ratio.toFixed(2)} (goal <= 1.3; best of 3) [${machine()}]`,
);
if (process.env.BENCH_JSON) console.log(JSON.stringify({ bench: 'durable', count, memory: m, durable: d, ratio }));
