#!/usr/bin/env node
// bench/engine: 100k records from the in-memory source through the declarative mapper into the
// in-memory target, with the in-memory state store. Prints records/s and peak RSS.
// Goal (2-core machine): >= 20,000 records/s, peak RSS < 150 MB.
import { engineRun, machine } from './lib.mjs';

const count = Number(process.env.BENCH_COUNT ?? 100_000);
const r = await engineRun(count, false);
console.log(
  `engine: ${count} records in ${(r.ms / 1000).toFixed(2)} s = ${r.recordsPerSecond} records/s, peak RSS ${r.peakRssMb} MB (goal >= 20000/s, < 150 MB) [${machine()}]`,
);
if (process.env.BENCH_JSON) console.log(JSON.stringify({ bench: 'engine', count, ...r }));
