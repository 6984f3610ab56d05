// Shared helpers of qiao's benchmarks. Benchmarks run the built packages (npm ci builds them).
import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

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
  if (report.counts.inserted !== count) throw new Error(`expected ${count} inserted, got ${JSON.stringify(report.counts)}`);
  return { ms, recordsPerSecond: Math.round((count * 1000) / ms), peakRssMb: peakRssMb() };
}
