// Shared helpers of qiao's benchmarks. Benchmarks run the built packages (npm ci builds them).
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function machine() {
  const c = cpus();
  return `${c.length}× ${c[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

export function peakRssMb() {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function tempDir(prefix = 'qiao-bench-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeTemp(dir, name, text) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export const memoryResolver = {
  resolve: async (id) => (id === 'memory' ? (await import('@qiao/core/testing')).memoryConnector : undefined),
  known: () => ['memory'],
  packageName: (id) => `@qiao/connector-${id}`,
};

/** The engine benchmark's scheme: 100k generated records through a declarative mapping. */
export function engineScheme(count) {
  return `version: 1
id: bench-engine
source:
  connector: memory
  stream: records
  params: { count: ${count}, pageSize: 1000 }
target:
  connector: memory
  operation: records.save
  connection: { store: bench, keepPayloads: false }
  limits: { concurrency: 16 }
mapping:
  code: id
  name.zh_CN: name
  amount: amount
  city: city
  tags: tags
`;
}

/** Runs one engine pass in this process and returns its figures. */
export async function engineRun(count, durable) {
  const core = await import('@qiao/core');
  const dir = tempDir();
  const file = writeTemp(dir, 'engine.yaml', engineScheme(count));
  const loaded = await core.loadScheme(file, { resolver: memoryResolver, env: {} });
  const store = durable ? new core.SqliteStateStore(join(dir, 'state')) : new core.MemoryStateStore();
  const t0 = performance.now();
  const report = await core.runLoadedScheme(loaded, store, { concurrency: 16 });
  const ms = performance.now() - t0;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  if (report.counts.inserted !== count) throw new Error(`expected ${count} inserted, got ${JSON.stringify(report.counts)}`);
  return { ms, recordsPerSecond: Math.round((count * 1000) / ms), peakRssMb: peakRssMb() };
}

// ---- OKKI → YonBIP on the simulators ------------------------------------------------------------

/** The okki-to-yonbip template, the scheme every end-to-end benchmark runs. */
export const TEMPLATE = fileURLToPath(new URL('../packages/runner-cli/templates/okki-to-yonbip.scheme.yaml', import.meta.url));

/**
 * Starts a fresh OKKI simulator holding `customers` customers and a fresh, empty YonBIP simulator on
 * 127.0.0.1. `okki` / `yonbip` are extra options for each.
 */
export async function startSimulators({ customers, seed = 1, latencyMs = 0, okki: okkiOptions = {}, yonbip: yonbipOptions = {} }) {
  const { startOkkiSandbox } = await import('@qiao/connector-okki/sandbox');
  const { startYonbipSandbox } = await import('@qiao/connector-yonbip/sandbox');
  const okki = await startOkkiSandbox({ customers, seed, latencyMs, ...okkiOptions });
  const yonbip = await startYonbipSandbox({ latencyMs, ...yonbipOptions });
  return {
    okki,
    yonbip,
    stop: async () => {
      await Promise.allSettled([okki.stop(), yonbip.stop()]);
    },
  };
}

/**
 * The environment the template reads, pointing at the simulators (YonBIP through the data-center
 * lookup, as with a real tenant id). Limits: `okkiRps`, `okkiConcurrency`, `bipRps`, `bipConcurrency`.
 */
export function schemeEnv(sims, { okkiRps = 100_000, okkiConcurrency = 8, bipRps = 100_000, bipConcurrency = 8, bipApi = 'classic' } = {}) {
  return {
    OKKI_BASE_URL: sims.okki.url,
    OKKI_CLIENT_ID: sims.okki.credentials.clientId,
    OKKI_CLIENT_SECRET: sims.okki.credentials.clientSecret,
    OKKI_REQUESTS_PER_SECOND: String(okkiRps),
    OKKI_CONCURRENCY: String(okkiConcurrency),
    YONBIP_TENANT_ID: sims.yonbip.credentials.tenantId,
    YONBIP_DATA_CENTER_URL: sims.yonbip.dataCenterUrl,
    YONBIP_APP_KEY: sims.yonbip.credentials.appKey,
    YONBIP_APP_SECRET: sims.yonbip.credentials.appSecret,
    // The simulated tenant's own org and class (YONBIP_SANDBOX_ORG / _CUSTOMER_CLASS): the template has no defaults for them.
    YONBIP_CREATE_ORG: '1870412293664489473',
    YONBIP_CUSTOMER_CLASS: '1870412293664489611',
    YONBIP_REQUESTS_PER_SECOND: String(bipRps),
    YONBIP_CONCURRENCY: String(bipConcurrency),
    // The endpoint set (template default v2); the benchmarks recorded before V2 measured classic.
    YONBIP_API: bipApi,
  };
}

/**
 * One `qiao run` of the template (or of `options.scheme`, a file) in this process, as the CLI does it:
 * loadScheme with the CLI's connector resolver, a SqliteStateStore in a fresh temp dir, runLoadedScheme.
 * Returns the report and the wall time (scheme load included; module import excluded).
 */
export async function runQiao(env, options = {}) {
  const core = await import('@qiao/core');
  const { connectorResolver } = await import('@qiao/runner-cli');
  const dir = options.stateDir ?? tempDir('qiao-bench-state-');
  const t0 = performance.now();
  const loaded = await core.loadScheme(options.scheme ?? TEMPLATE, { resolver: connectorResolver, env });
  const store = new core.SqliteStateStore(dir);
  let report;
  try {
    report = await core.runLoadedScheme(loaded, store, options.run ?? {});
  } finally {
    store.close();
    if (!options.stateDir) rmSync(dir, { recursive: true, force: true });
  }
  const ms = performance.now() - t0;
  if (report.status !== 'succeeded') throw new Error(`qiao run ${report.status}: ${JSON.stringify(report.fatal ?? report.errors)}`);
  return { ms, report };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The built CLI. */
export const CLI = fileURLToPath(new URL('../packages/runner-cli/bin/run.js', import.meta.url));
/** `qiao` as `npx qiao` runs it: npm's link to the CLI, started through its shebang. */
export const QIAO_BIN = fileURLToPath(new URL('../node_modules/.bin/qiao', import.meta.url));
const RSS_HOOK = new URL('./rss-hook.mjs', import.meta.url).href;

/**
 * `qiao run <template> --state DIR --json --quiet` in a child process, started as `npx qiao` starts it
 * (node_modules/.bin/qiao), with `env` added to this process's environment. The child is preloaded
 * (NODE_OPTIONS=--import) with bench/rss-hook.mjs, which writes its peak RSS (getrusage maxRSS, read in
 * the child's `exit` event) to a file. Returns the run report (stdout), the child's wall time, its peak
 * RSS and CPU time.
 */
export async function runCli(env, { stateDir } = {}) {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const dir = stateDir ?? tempDir('qiao-bench-state-');
  const rssDir = tempDir('qiao-bench-rss-');
  const rssFile = join(rssDir, 'rss.json');
  const t0 = performance.now();
  // the hook comes in through NODE_OPTIONS (added to any the caller set, e.g. --max-semi-space-size)
  const nodeOptions = [process.env.NODE_OPTIONS, `--import=${RSS_HOOK}`].filter(Boolean).join(' ');
  const child = spawn(QIAO_BIN, ['run', TEMPLATE, '--state', dir, '--json', '--quiet'], {
    env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const wallMs = performance.now() - t0;
  if (!stateDir) rmSync(dir, { recursive: true, force: true });
  let usage;
  try {
    if (code !== 0) throw new Error(`qiao run exited ${code}: ${stderr.slice(-2000)} ${stdout.slice(-2000)}`);
    usage = JSON.parse(readFileSync(rssFile, 'utf8'));
  } finally {
    rmSync(rssDir, { recursive: true, force: true });
  }
  const report = JSON.parse(stdout);
  return { wallMs, report, stderr, pid: child.pid, peakRssMb: Math.round(usage.maxRssKb / 1024), cpuMs: usage.userCpuMs + usage.systemCpuMs };
}

/**
 * Like {@link startSimulators}, with the simulators in a child process of their own (bench/sims-process.mjs),
 * as remote systems are: what this process measures is the client alone. `counters()` and `merchants()`
 * ask the child; `stop()` ends it.
 */
export async function startSimulatorsApart(options) {
  const { fork } = await import('node:child_process');
  const child = fork(fileURLToPath(new URL('./sims-process.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced', // structured clone: YonBIP's records may hold bigints
  });
  const ask = (m) =>
    new Promise((resolve, reject) => {
      const onError = (e) => reject(e);
      child.once('error', onError);
      child.once('message', (r) => {
        child.off('error', onError);
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      });
      child.send(m);
    });
  const info = await ask({ start: options });
  return {
    okki: info.okki,
    yonbip: info.yonbip,
    counters: () => ask({ counters: true }),
    merchants: async () => (await ask({ merchants: true })).merchants,
    stop: async () => {
      await ask({ stop: true }).catch(() => {});
      child.kill();
    },
  };
}
