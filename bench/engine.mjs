#!/usr/bin/env node
// bench/engine: 100k records from the in-memory source through the declarative mapper into the
// in-memory target, with the in-memory state store. Prints records/s and peak RSS.
// Goal (2-core machine): >= 20,000 records/s, peak RSS < 150 MB.
//
// The run is measured three times, each in a fresh process: with Node's default heap sizing (on a
// 24 GiB machine V8 lets garbage pile up far beyond what is live), with the heap sized as the `qiao`
// command sizes it (tuneHeap: the old generation collected once it grew 50%, set at run time), and with
// the whole heap capped at 128 MB, which shows what the engine needs: if memory grew with the number of
// records, the capped run would die.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { engineRun, machine } from './lib.mjs';

const count = Number(process.env.BENCH_COUNT ?? 100_000);
const CAP = ['--max-old-space-size=128', '--max-semi-space-size=4'];
if (process.argv[2] === '--one') {
  if (process.argv[3] === '--as-qiao') (await import('../packages/runner-cli/dist/lib/heap.js')).tuneHeap();
  console.log(JSON.stringify(await engineRun(count, false)));
  process.exit(0);
}
const self = fileURLToPath(import.meta.url);
const one = (flags, asQiao = false) =>
  JSON.parse(execFileSync(process.execPath, [...flags, self, '--one', ...(asQiao ? ['--as-qiao'] : [])], { encoding: 'utf8' }).trim().split('\n').pop());
const r = one([]);
const l = one([], true);
const c = one(CAP);
console.log(
  `engine: ${count} records in ${(r.ms / 1000).toFixed(2)} s = ${r.recordsPerSecond} records/s, peak RSS ${r.peakRssMb} MB; ` +
    `heap sized as qiao does: ${l.recordsPerSecond} records/s, peak RSS ${l.peakRssMb} MB; ` +
    `heap capped (${CAP.join(' ')}): ${c.recordsPerSecond} records/s, peak RSS ${c.peakRssMb} MB (goal >= 20000/s, < 150 MB) [${machine()}]`,
);
if (process.env.BENCH_JSON) console.log(JSON.stringify({ bench: 'engine', count, default: r, asQiao: l, capped: c }));
