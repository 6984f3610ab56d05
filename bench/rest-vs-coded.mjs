#!/usr/bin/env node
// bench/rest-vs-coded: the OKKI company stream read through the declarative REST connector
// (packages/connector-rest/examples/okki.company.rest.yaml) against the coded one
// (@qiao/connector-okki), wall time of a full read with the detail call per customer, every OKKI
// answer delayed by BENCH_LATENCY_MS (20 ms). Both sources are wired as the runner wires them (child
// container + plugin.register, one limiter of BENCH_CONCURRENCY slots, no rate limit) and read the
// same simulator (in a process of its own). Each read runs in a fresh child process, as each run of
// `qiao` does (one connector per process: the JIT never sees the other's code), after one warm-up
// read in that process; runs alternate (coded, rest, rest, coded, …) and the medians are compared.
// Goal (issue 17): rest / coded <= 1.10.
//
//   node bench/rest-vs-coded.mjs            (after `npx tsc -b`)
//   BENCH_COUNT=1000 BENCH_LATENCY_MS=20 BENCH_CONCURRENCY=8 BENCH_ROUNDS=7 node bench/rest-vs-coded.mjs
import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { container } from 'tsyringe';
import { ConnectionToken, Limiter, defaultRetryPolicy, silentLogger, sourceToken } from '@qiao/core';
import okki from '@qiao/connector-okki';
import { loadRestManifest, restPlugin } from '@qiao/connector-rest';
import { machine, median, startSimulatorsApart } from './lib.mjs';

const N = Number(process.env.BENCH_COUNT ?? 1000);
const L = Number(process.env.BENCH_LATENCY_MS ?? 20);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const MANIFEST = fileURLToPath(new URL('../packages/connector-rest/examples/okki.company.rest.yaml', import.meta.url));

// the simulator in a process of its own: a remote OKKI does not share the client's event loop
const child = process.argv[2] === '--child' ? JSON.parse(process.argv[3]) : undefined;
const sims = child ? undefined : await startSimulatorsApart({ customers: N, seed: 3, latencyMs: L });
const sandbox = child?.okki ?? sims.okki;
const plugins = { coded: okki, rest: restPlugin(loadRestManifest(MANIFEST)) };

const cpuMs = { coded: [], rest: [] };

async function read(kind) {
  const config = { baseUrl: sandbox.url, ...sandbox.credentials, scope: 'company', manifest: MANIFEST };
  const ctx = { connector: kind === 'coded' ? 'okki' : 'rest', config, limiter: new Limiter({ concurrency: C }), retry: defaultRetryPolicy, logger: silentLogger, secrets: [config.clientSecret] };
  const c = container.createChildContainer();
  c.register(ConnectionToken, { useValue: ctx });
  plugins[kind].register(c);
  const source = c.resolve(sourceToken('company'));
  const started = performance.now();
  const cpu = process.cpuUsage();
  let count = 0;
  for await (const r of source.read({ params: { count: 100, all: 1, start_index: 1 }, detail: true, lookbackMs: 0, signal: new AbortController().signal, logger: silentLogger })) {
    if (!r.skip) count++;
  }
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  cpuMs[kind].push((used.user + used.system) / 1000);
  if (count !== N) throw new Error(`${kind}: read ${count} customers, expected ${N}`);
  return ms;
}

/** One read in a fresh process: a warm-up read (module loading, JIT, keep-alive sockets), then the measured one. */
async function readApart(kind) {
  const { execFile } = await import('node:child_process');
  const arg = JSON.stringify({ kind, okki: sandbox });
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [fileURLToPath(import.meta.url), '--child', arg], { env: process.env }, (error, stdout) => {
      if (error) return reject(error);
      const r = JSON.parse(stdout);
      cpuMs[kind].push(r.cpuMs);
      resolve(r.ms);
    }),
  );
}

if (child) {
  await read(child.kind);
  cpuMs[child.kind].length = 0;
  const ms = await read(child.kind);
  console.log(JSON.stringify({ ms, cpuMs: cpuMs[child.kind][0] }));
  process.exit(0);
}

try {
  const times = { coded: [], rest: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const kind of i % 2 === 0 ? ['coded', 'rest'] : ['rest', 'coded']) times[kind].push(await readApart(kind));
  }
  const coded = median(times.coded);
  const rest = median(times.rest);
  const ratio = rest / coded;
  const out = {
    bench: 'rest-vs-coded',
    customers: N,
    latencyMs: L,
    concurrency: C,
    rounds: ROUNDS,
    codedMs: Math.round(coded),
    restMs: Math.round(rest),
    ratio: Number(ratio.toFixed(3)),
    goal: '<= 1.10',
    pass: ratio <= 1.1,
    clientCpuMs: { coded: Math.round(median(cpuMs.coded)), rest: Math.round(median(cpuMs.rest)) },
    runs: { coded: times.coded.map(Math.round), rest: times.rest.map(Math.round) },
    machine: machine(),
  };
  console.log(JSON.stringify(out, null, 2));
  if (!out.pass) process.exitCode = 1;
} finally {
  await sims.stop();
}
