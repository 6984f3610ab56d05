import type { DeletionLog, LeaseOptions, StateAdmin, StateStore } from '../contracts/state-store.js';
import { InputError } from '../errors/errors.js';
import { parseDatabaseUrl, redactDatabaseUrl } from './postgres-errors.js';
import { PostgresStateStore } from './postgres-store.js';
import { resolveStateDir, SqliteStateStore } from './sqlite.store.js';

/** A store a command can run schemes on and show: every seam, as both SQLite and PostgreSQL stores offer. */
export type AnyStateStore = StateStore & StateAdmin & DeletionLog;

/** Options of {@link openStateStore}. */
export interface OpenStateStoreOptions {
  /**
   * A PostgreSQL URL (`postgres://user:password@host:5432/database?schema=qiao`): the state lives
   * there, shared by every qiao process pointed at it. Without it the state is PostgreSQL at
   * `QIAO_DATABASE_URL` if set (and `stateDir` is not), else SQLite in the state directory.
   */
  database?: string | undefined;
  /** The SQLite state directory (`--state`); its defaults are those of {@link resolveStateDir}. */
  stateDir?: string | undefined;
  /**
   * Create the state when it does not exist (`false` for commands that only look at state).
   * @default true
   */
  create?: boolean;
  lease?: LeaseOptions;
  /** Read for `QIAO_DATABASE_URL` and `QIAO_STATE_DIR`. @default process.env */
  env?: Record<string, string | undefined>;
}

/** Where the state of these options lives, as the CLI shows it: the state directory, or the database URL without its password and the schema. */
export function describeState(options: Pick<OpenStateStoreOptions, 'database' | 'stateDir' | 'env'> = {}): string {
  const database = databaseUrlOf(options);
  if (database === undefined) return resolveStateDir(options.stateDir, options.env ?? process.env);
  try {
    const { target } = parseDatabaseUrl(database.url, database.source);
    return `${target.url} (schema ${target.schema})`;
  } catch {
    return redactDatabaseUrl(database.url);
  }
}

/**
 * `--database`, else `QIAO_DATABASE_URL` unless `--state` names a directory (a flag beats the
 * environment), with where it came from (named in errors).
 */
function databaseUrlOf(options: Pick<OpenStateStoreOptions, 'database' | 'stateDir' | 'env'>): { url: string; source: string } | undefined {
  if (options.database !== undefined && options.database !== '') return { url: options.database, source: 'flag --database' };
  if (options.stateDir !== undefined) return undefined;
  const env = (options.env ?? process.env).QIAO_DATABASE_URL;
  return env ? { url: env, source: 'QIAO_DATABASE_URL' } : undefined;
}

/**
 * Opens the state store: PostgreSQL when given a database URL (`database`, else `QIAO_DATABASE_URL`),
 * else SQLite in the state directory (`stateDir`, else `QIAO_STATE_DIR`, else `.qiao/`).
 * @throws InputError (exit 2) for a database URL that is not a PostgreSQL URL, or `--database` together with `--state`.
 * @throws StateError (exit 3) when the state cannot be used: PostgreSQL unreachable (named by host:port), a missing state with `create: false`, a full disk…
 *
 * @example
 * const store = await openStateStore({ database: 'postgres://qiao@db.internal:5432/qiao' });
 */
export async function openStateStore(options: OpenStateStoreOptions = {}): Promise<AnyStateStore> {
  const database = databaseUrlOf(options);
  if (database) {
    if (options.stateDir !== undefined && options.database !== undefined) {
      throw new InputError(
        [
          {
            file: 'flags --database and --state',
            pointer: '',
            expected: 'one place for the state',
            found: 'both',
            hint: '--database keeps the state in PostgreSQL, --state in a SQLite directory: pass one of them',
          },
        ],
        { reason: 'state.database_url' },
      );
    }
    return PostgresStateStore.open(database.url, {
      source: database.source,
      ...(options.create !== undefined ? { create: options.create } : {}),
      ...(options.lease ? { lease: options.lease } : {}),
    });
  }
  return new SqliteStateStore(resolveStateDir(options.stateDir, options.env ?? process.env), {
    ...(options.create !== undefined ? { create: options.create } : {}),
    ...(options.lease ? { lease: options.lease } : {}),
  });
}
