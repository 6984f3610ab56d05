import type Database from 'better-sqlite3';
import { InputError } from '../errors/errors.js';

/** Each entry moves the database from version i to i + 1. Never edit one that has shipped; add another. */
export const migrations: string[] = [
  // v1: queue, cursors, delivered (id map + fingerprints), runs, locks
  `CREATE TABLE queue (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     scheme TEXT NOT NULL,
     key TEXT NOT NULL,
     payload TEXT,
     fingerprint TEXT NOT NULL,
     cursor TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending','in-flight','done','dead')),
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error_code TEXT,
     last_error_message TEXT,
     run_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     UNIQUE (scheme, key)
   );
   CREATE INDEX queue_status ON queue (scheme, status, id);
   CREATE TABLE cursors (scheme TEXT NOT NULL, stream TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (scheme, stream));
   CREATE TABLE delivered (scheme TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, target_id TEXT, delivered_at TEXT NOT NULL, PRIMARY KEY (scheme, key));
   CREATE TABLE runs (scheme TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, report TEXT NOT NULL, PRIMARY KEY (scheme, run_id));
   CREATE TABLE locks (scheme TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL);`,
  // v2: maybe-written flag (crash-safe upserts), source data for records that failed to map
  `ALTER TABLE queue ADD COLUMN maybe_written INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE queue ADD COLUMN source TEXT;
   CREATE INDEX runs_started ON runs (scheme, started_at);`,
  // v3: the write journal — items handed straight to this process's writers, one row per enqueued batch
  // (see enqueueClaimed); done items leave the queue (their delivery is the record that they are done).
  // qiao no longer writes the journal (see sqlite-journal.ts); it only recovers rows an older qiao left.
  `CREATE TABLE journal (
     id INTEGER PRIMARY KEY,
     scheme TEXT NOT NULL,
     run_id TEXT NOT NULL,
     n INTEGER NOT NULL,
     items TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX journal_scheme ON journal (scheme, id);
   DELETE FROM queue WHERE status = 'done';`,
  // v4: the run lock is a lease: the holder renews it (renewed_at) and says for how long a renewal
  // holds (lease_ms); token tells this holder's row from a later one of the same pid and host.
  // Rows an older qiao left keep NULLs: acquired_at counts as their renewal, with the default lease.
  `ALTER TABLE locks ADD COLUMN renewed_at TEXT;
   ALTER TABLE locks ADD COLUMN lease_ms INTEGER;
   ALTER TABLE locks ADD COLUMN token TEXT;`,
  // v5: the id map keeps the code the target answered (a YonBIP coding rule may replace the one sent),
  // the mapped upsert key (two source records mapping to one code are refused, not merged), and the
  // top-level fields of the payload delivered (an update clears those the mapping no longer yields).
  // Rows delivered before keep NULLs: unknown, so no collision is seen through them and nothing is cleared.
  `ALTER TABLE delivered ADD COLUMN target_code TEXT;
   ALTER TABLE delivered ADD COLUMN business_key TEXT;
   ALTER TABLE delivered ADD COLUMN fields TEXT;
   CREATE INDEX delivered_business_key ON delivered (scheme, business_key);
   CREATE INDEX delivered_target_code ON delivered (scheme, target_code);
   CREATE INDEX delivered_target_id ON delivered (scheme, target_id);`,
  // v6: records deleted in the source (`target.onDelete`), one row per scheme and key until it comes back.
  `CREATE TABLE deletions (
     scheme TEXT NOT NULL,
     key TEXT NOT NULL,
     name TEXT,
     deleted_at TEXT,
     status TEXT NOT NULL,
     target_id TEXT,
     message TEXT,
     source TEXT,
     run_id TEXT NOT NULL,
     seen_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (scheme, key)
   );
   CREATE INDEX deletions_seen ON deletions (scheme, seen_at);`,
];

/** The schema version this qiao writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = migrations.length;

/**
 * Brings a state database to {@link SCHEMA_VERSION}: every pending step in one transaction, so a new
 * state directory is made in one commit and an upgrade is all or nothing. Refuses (with an
 * `InputError`) a database a newer qiao wrote: its data would be misread.
 */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new InputError([
      {
        file: db.name,
        pointer: '',
        expected: `a state database of schema version ${SCHEMA_VERSION} or older`,
        found: `version ${current}, written by a newer qiao`,
        hint: 'upgrade qiao, or point --state at another directory',
      },
    ]);
  }
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(migrations[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** A database opened read-only cannot be migrated: it must be of this qiao's schema version. */
export function checkSchemaReadable(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current === SCHEMA_VERSION) return;
  throw new InputError([
    {
      file: db.name,
      pointer: '',
      expected: `a state database of schema version ${SCHEMA_VERSION} to read without writing`,
      found: `version ${current}${current > SCHEMA_VERSION ? ', written by a newer qiao' : ', which this qiao upgrades on its next write'}`,
      hint: current > SCHEMA_VERSION ? 'upgrade qiao' : 'run `qiao run` once as a user who may write the state folder, or give this user write access',
    },
  ]);
}
