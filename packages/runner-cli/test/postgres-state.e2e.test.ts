import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { qiao, simulatorEnv, startQiao, tempDir, waitFor } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
/** The machine's PostgreSQL (trust auth: the password in the URLs below is never checked, only kept secret). */
const SERVER = new URL(process.env.QIAO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const PASSWORD = 'pg-pass-7f3a91c2';

/** The test database URL of `schema`, through `port` (a proxy) or straight to the server, with a password. */
function databaseUrl(schema: string, port?: number): string {
  const u = new URL(SERVER);
  u.password = PASSWORD;
  if (port !== undefined) u.port = String(port);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** A TCP proxy to the PostgreSQL server: killing it is PostgreSQL going out of reach mid-run. */
async function pgProxy(port = 0): Promise<{ port: number; kill: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(SERVER.port || 5432), SERVER.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    kill: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

describe('okki-to-yonbip with its state in PostgreSQL (--database)', () => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;
  let env: Record<string, string>;
  const admin = new pg.Pool({ connectionString: SERVER.toString(), max: 2 });
  const schemas: string[] = [];
  const newSchema = () => {
    const s = `qiao_e2e_${randomBytes(5).toString('hex')}`;
    schemas.push(s);
    return s;
  };

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 250, seed: 11 });
    bip = await startYonbipSandbox({});
    env = {
      ...simulatorEnv(okki, bip),
      OKKI_REQUESTS_PER_SECOND: '200',
      YONBIP_REQUESTS_PER_SECOND: '200',
      OKKI_CONCURRENCY: '8',
      YONBIP_CONCURRENCY: '8',
      YONBIP_API: 'v2',
      QIAO_DATABASE_URL: '',
      QIAO_STATE_DIR: '',
    };
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.end();
  });

  it('runs, reruns writing nothing, and overview, queue and runs read the same state, from the flag or QIAO_DATABASE_URL', async () => {
    const schema = newSchema();
    const url = databaseUrl(schema);
    // no SQLite state is made in the working directory
    const cwd = tempDir('qiao-pg-cwd-');
    const run = (args: string[], extra: Record<string, string> = {}) => qiao(args, { env: { ...env, ...extra }, cwd });

    const first = await run(['run', TEMPLATE, '--json', '--database', url]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'succeeded', counts: { read: 250, inserted: 250, updated: 0, failed: 0 } });
    expect(bip.merchants()).toHaveLength(250);
    expect([...bip.insertsByCode().values()].every((n) => n === 1)).toBe(true);

    // the id map is in PostgreSQL: one row per customer, each with its 19-digit YonBIP id
    const rows = await admin.query<{ n: number; ids: number }>(`SELECT COUNT(*)::int AS n, COUNT(DISTINCT target_id)::int AS ids FROM ${schema}.delivered WHERE target_id ~ '^\\d{19}$'`);
    expect(rows.rows[0]).toEqual({ n: 250, ids: 250 });

    const writes = { ...bip.counters };
    const second = await run(['run', TEMPLATE, '--json', '--database', url]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 0, failed: 0 } });
    expect({ inserts: bip.counters.inserts, updates: bip.counters.updates, batchSave: bip.counters.batchSave, save: bip.counters.save }).toEqual({
      inserts: writes.inserts,
      updates: writes.updates,
      batchSave: writes.batchSave,
      save: writes.save,
    });

    const overview = await run(['overview', TEMPLATE, '--json', '--database', url]);
    expect(overview.code, overview.stderr).toBe(0);
    const o = JSON.parse(overview.stdout) as { runs: { runId: string }[]; successRate: number; queue: Record<string, number>; cursor: string };
    expect(o.runs.map((r) => r.runId)).toEqual([JSON.parse(second.stdout).runId, JSON.parse(first.stdout).runId]);
    expect(o.successRate).toBe(1);
    expect(o.queue).toEqual({ pending: 0, 'in-flight': 0, done: 250, dead: 0 });
    expect(o.cursor).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    // the same state through QIAO_DATABASE_URL
    const queue = await run(['queue', TEMPLATE, '--json'], { QIAO_DATABASE_URL: url });
    expect(queue.code, queue.stderr).toBe(0);
    expect(JSON.parse(queue.stdout)).toMatchObject({ counts: { pending: 0, 'in-flight': 0, done: 250, dead: 0 }, items: [] });
    const runs = await run(['runs', TEMPLATE, '--json'], { QIAO_DATABASE_URL: url });
    expect(runs.code, runs.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(runs.stdout))).toContain(JSON.parse(first.stdout).runId);

    // --state beats QIAO_DATABASE_URL: an empty SQLite state there, not the shared one
    const sqlite = await run(['queue', TEMPLATE, '--json', '--state', join(cwd, 'nowhere')], { QIAO_DATABASE_URL: url });
    expect(sqlite.code).toBe(3);
    expect(sqlite.stderr).toMatch(/there is no state at/);

    expect(existsSync(join(cwd, '.qiao'))).toBe(false);
    for (const r of [first, second, overview, queue, runs, sqlite]) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('PostgreSQL out of reach: a run fails at once naming host:port (exit 3), and writes nothing', async () => {
    const before = bip.counters.inserts + bip.counters.updates;
    const r = await qiao(['run', TEMPLATE, '--database', databaseUrl(newSchema(), 9)], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/PostgreSQL at 127\.0\.0\.1:9 \(database test, schema qiao_e2e_\w+\) cannot be reached: ECONNREFUSED/);
    expect(r.stderr).toMatch(/hint: check that PostgreSQL runs and accepts connections on 127\.0\.0\.1:9/);
    expect(r.stderr).not.toMatch(/bug in qiao|\n\s+at /);
    expect(r.stderr).not.toContain(PASSWORD);
    expect(bip.counters.inserts + bip.counters.updates).toBe(before);

    const bad = await qiao(['overview', TEMPLATE, '--database', `mysql://root:${PASSWORD}@127.0.0.1/test`], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/flag --database: expected a PostgreSQL URL/);
    expect(bad.stderr).not.toContain(PASSWORD);
  });

  it('PostgreSQL lost mid-run: the run stops with a clear message, and the rerun delivers every customer exactly once', async () => {
    const fresh = await startOkkiSandbox({ customers: 300, seed: 23 });
    const target = await startYonbipSandbox({});
    const proxy = await pgProxy();
    try {
      const schema = newSchema();
      const runEnv = { ...env, ...simulatorEnv(fresh, target), YONBIP_API: 'v2', YONBIP_REQUESTS_PER_SECOND: '40', OKKI_REQUESTS_PER_SECOND: '200' };
      const { done } = startQiao(['run', TEMPLATE, '--json', '--database', databaseUrl(schema, proxy.port)], { env: runEnv });
      // some customers written, most not yet: PostgreSQL goes away
      await waitFor(() => target.merchants().length >= 30, 60_000, '30 customers in YonBIP');
      await proxy.kill();
      const cut = await done;
      expect(cut.code, cut.stderr).toBe(3);
      expect(target.merchants().length).toBeLessThan(300);
      // the run cannot record its end either (PostgreSQL is gone): the error is the last word, on stderr
      expect(cut.stderr).toMatch(new RegExp(`Error: PostgreSQL at 127\\.0\\.0\\.1:${proxy.port} \\(database test, schema ${schema}\\) cannot be reached`));
      expect(cut.stderr).toMatch(/hint: .*nothing already delivered is lost/);
      expect(cut.stderr).not.toMatch(/bug in qiao|\n\s+at /);
      expect(cut.stdout + cut.stderr).not.toContain(PASSWORD);

      // PostgreSQL is back (straight, not through the proxy): the rerun finishes the job
      const rerun = await qiao(['run', TEMPLATE, '--json', '--database', databaseUrl(schema)], { env: runEnv });
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(target.merchants()).toHaveLength(300);
      expect([...target.insertsByCode().values()].every((n) => n === 1)).toBe(true);
      const queue = await qiao(['queue', TEMPLATE, '--json', '--database', databaseUrl(schema)], { env: runEnv });
      expect(JSON.parse(queue.stdout)).toMatchObject({ counts: { pending: 0, 'in-flight': 0, done: 300, dead: 0 } });
    } finally {
      await proxy.kill().catch(() => undefined);
      await fresh.stop();
      await target.stop();
    }
  });
});
