import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach } from 'vitest';
import { MemoryStateStore, PostgresStateStore, SqliteStateStore, type AnyStateStore, type LeaseOptions } from '../src/index.js';
import { tempDir } from './helpers.js';

/**
 * The state stores every StateStore behaviour is tested on: one suite, several backends
 * (`describe.each(backends)`). PostgreSQL is the server of the machine (127.0.0.1:5432, trust auth,
 * database `test`), or `QIAO_TEST_DATABASE_URL`; each state gets its own schema, dropped after the test.
 */
export const TEST_DATABASE_URL = process.env.QIAO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Options of a store opened on a state. */
export interface OpenOptions {
  lease?: LeaseOptions;
  create?: boolean;
}

/** A state that outlives its stores: open it again as another process would, or reach its tables directly. */
export interface DurableState {
  /** Opens a store on this state (each call: a new store, as another process would). */
  open(options?: OpenOptions): Promise<AnyStateStore>;
  /**
   * Runs SQL on the state's tables, beside the stores (what another program, or an older qiao, does).
   * Placeholders are `?`; times come back as ISO strings, whichever the database.
   */
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  /** Where it is: the state directory, or the database URL with `?schema=`. */
  where: string;
}

export interface DurableBackend {
  name: 'sqlite' | 'postgres';
  /** A new empty state. */
  fresh(): Promise<DurableState>;
}

/** Schemas and pools made by the tests of this file, dropped and ended after each test. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

let admin: pg.Pool | undefined;
function adminPool(): pg.Pool {
  admin ??= new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2, allowExitOnIdle: true });
  return admin;
}

/** A schema name no other test uses. */
export function testSchema(): string {
  return `qiao_test_${randomBytes(6).toString('hex')}`;
}

/** The URL of a new test schema, dropped after the test (with every store opened on it). */
export function testDatabaseUrl(schema = testSchema()): string {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  cleanups.push(async () => {
    await adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  return url.toString();
}

/** Converts `?` placeholders to `$1, $2, …` */
function numbered(query: string): string {
  let i = 0;
  return query.replace(/\?/g, () => `$${++i}`);
}

function isoTimes<T>(rows: Record<string, unknown>[]): T[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])) as T);
}

export const sqliteBackend: DurableBackend = {
  name: 'sqlite',
  async fresh() {
    const dir = tempDir('qiao-state-');
    const stores: AnyStateStore[] = [];
    cleanups.push(async () => {
      for (const s of stores) await s.close();
    });
    return {
      where: dir,
      async open(options = {}) {
        const s = new SqliteStateStore(dir, options);
        stores.push(s);
        return s;
      },
      async sql<T>(query: string, params: unknown[] = []) {
        const db = new Database(join(dir, 'state.db'));
        try {
          const stmt = db.prepare(query);
          return (stmt.reader ? (stmt.all(...params) as T[]) : (stmt.run(...params), [])) as T[];
        } finally {
          db.close();
        }
      },
    };
  },
};

export const postgresBackend: DurableBackend = {
  name: 'postgres',
  async fresh() {
    const schema = testSchema();
    const url = testDatabaseUrl(schema);
    const stores: AnyStateStore[] = [];
    // stores close before their schema is dropped (cleanups run last pushed first)
    cleanups.push(async () => {
      for (const s of stores) await s.close();
    });
    return {
      where: url,
      async open(options = {}) {
        const s = await PostgresStateStore.open(url, options);
        stores.push(s);
        return s;
      },
      async sql<T>(query: string, params: unknown[] = []) {
        const client = await adminPool().connect();
        try {
          await client.query(`SET search_path TO "${schema}"`);
          return isoTimes<T>((await client.query(numbered(query), params)).rows);
        } finally {
          await client.query('RESET search_path').catch(() => undefined);
          client.release();
        }
      },
    };
  },
};

/** Stores that keep their state across stores (as across processes). */
export const durableBackends: [string, DurableBackend][] = [
  ['sqlite', sqliteBackend],
  ['postgres', postgresBackend],
];

/** Every store, as a maker of a new store on a new state. */
export const backends: [string, (options?: OpenOptions) => Promise<AnyStateStore>][] = [
  ['memory', async () => new MemoryStateStore()],
  ['sqlite', async (options) => (await sqliteBackend.fresh()).open(options)],
  ['postgres', async (options) => (await postgresBackend.fresh()).open(options)],
];
