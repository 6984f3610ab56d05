import type { PoolClient } from 'pg';
import { InputError } from '../errors/errors.js';
import type { PgTarget } from './postgres-errors.js';

/**
 * The schema of a PostgreSQL state, one entry per version: each moves the schema from version i to
 * i + 1. Never edit one that has shipped; add another. The tables mirror the SQLite store's (see
 * sqlite-migrations.ts) without its history: no `journal` (no older qiao ever wrote one here). Times
 * qiao compares or shows are `timestamptz` truncated to the millisecond, so an ISO string read back
 * matches the row it came from (`qiao unlock` removes a lock by its `acquired_at`).
 */
export const pgMigrations: string[] = [
  // v1: queue and dead letters, cursors, id map (delivered: fingerprints, target id and code, business
  // key, fields), run history, run locks (leases), records deleted in the source
  `CREATE TABLE queue (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     scheme TEXT NOT NULL,
     key TEXT NOT NULL,
     payload JSON,
     source JSON,
     fingerprint TEXT NOT NULL,
     cursor TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending','in-flight','dead')),
     attempts INTEGER NOT NULL DEFAULT 0,
     maybe_written BOOLEAN NOT NULL DEFAULT false,
     last_error_code TEXT,
     last_error_message TEXT,
     run_id TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL,
     UNIQUE (scheme, key)
   );
   CREATE INDEX queue_status ON queue (scheme, status, id);
   CREATE TABLE cursors (
     scheme TEXT NOT NULL,
     stream TEXT NOT NULL,
     value TEXT NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (scheme, stream)
   );
   CREATE TABLE delivered (
     scheme TEXT NOT NULL,
     key TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     target_id TEXT,
     target_code TEXT,
     business_key TEXT,
     fields JSON,
     delivered_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (scheme, key)
   );
   CREATE INDEX delivered_business_key ON delivered (scheme, business_key);
   CREATE INDEX delivered_target_code ON delivered (scheme, target_code);
   CREATE INDEX delivered_target_id ON delivered (scheme, target_id);
   CREATE TABLE runs (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     scheme TEXT NOT NULL,
     run_id TEXT NOT NULL,
     status TEXT NOT NULL,
     started_at TIMESTAMPTZ NOT NULL,
     finished_at TIMESTAMPTZ,
     report JSON NOT NULL,
     PRIMARY KEY (scheme, run_id)
   );
   CREATE INDEX runs_started ON runs (scheme, started_at DESC, seq DESC);
   CREATE TABLE locks (
     scheme TEXT PRIMARY KEY,
     pid INTEGER NOT NULL,
     host TEXT NOT NULL,
     acquired_at TIMESTAMPTZ NOT NULL,
     renewed_at TIMESTAMPTZ NOT NULL,
     lease_ms INTEGER NOT NULL,
     token TEXT NOT NULL
   );
   CREATE TABLE deletions (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     scheme TEXT NOT NULL,
     key TEXT NOT NULL,
     name TEXT,
     deleted_at TEXT,
     status TEXT NOT NULL,
     target_id TEXT,
     message TEXT,
     source JSON,
     run_id TEXT NOT NULL,
     seen_at TIMESTAMPTZ NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (scheme, key)
   );
   CREATE INDEX deletions_seen ON deletions (scheme, seen_at DESC, seq DESC);`,
];

/** The schema version this qiao writes to PostgreSQL (table `qiao_schema_version`). */
export const PG_SCHEMA_VERSION = pgMigrations.length;

/** A PostgreSQL identifier, quoted. Schema names are checked (see open-store.ts), this is belt and braces. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}


/**
 * What a schema holds: `undefined` when it has no qiao state (no `qiao_schema_version` table), else
 * its version and the id written when the state was made (a state dropped and made again has another).
 */
export async function readVersion(client: Pick<PoolClient, 'query'>, schema: string): Promise<{ version: number; instance: string } | undefined> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoteIdent(schema)}.qiao_schema_version`]);
  if (!exists.rows[0]?.t) return undefined;
  const r = await client.query<{ version: number; instance: string }>(`SELECT version, instance FROM ${quoteIdent(schema)}.qiao_schema_version`);
  return r.rows[0];
}

/**
 * Brings the state in `schema` to {@link PG_SCHEMA_VERSION}: creates the schema when it is missing, and
 * applies every pending step in one transaction under an advisory lock, so that workers starting at
 * once migrate it once, and an upgrade is all or nothing (PostgreSQL's DDL is transactional). Refuses
 * (with an `InputError`) a state a newer qiao wrote: its data would be misread.
 * @returns the state's instance id (see {@link readVersion}).
 */
export async function migratePg(client: PoolClient, place: PgTarget): Promise<string> {
  const s = quoteIdent(place.schema);
  // up to date: nothing to take or create (a user who may only read can open it)
  const found = await readVersion(client, place.schema);
  if (found && found.version === PG_SCHEMA_VERSION) return found.instance;
  await client.query('BEGIN');
  try {
    // one migrator per schema at a time, across processes and hosts
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`qiao.migrate.${place.schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.qiao_schema_version (
      one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
      version INTEGER NOT NULL,
      instance TEXT NOT NULL DEFAULT gen_random_uuid()::text,
      migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    await client.query(`INSERT INTO ${s}.qiao_schema_version (version) VALUES (0) ON CONFLICT (one) DO NOTHING`);
    const current = (await readVersion(client, place.schema))!;
    if (current.version > PG_SCHEMA_VERSION) {
      throw new InputError([
        {
          file: `${place.url} (schema ${place.schema})`,
          pointer: '',
          expected: `a qiao state of schema version ${PG_SCHEMA_VERSION} or older`,
          found: `version ${current.version}, written by a newer qiao`,
          hint: 'upgrade qiao, or point --database at another schema (?schema=NAME)',
        },
      ]);
    }
    await client.query(`SET LOCAL search_path TO ${s}`);
    for (let v = current.version; v < PG_SCHEMA_VERSION; v++) await client.query(pgMigrations[v]!);
    if (current.version !== PG_SCHEMA_VERSION) {
      await client.query(`UPDATE ${s}.qiao_schema_version SET version = $1, migrated_at = now()`, [PG_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
    return current.instance;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
