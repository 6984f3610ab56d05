import { InputError, StateError } from '../errors/errors.js';

/** Where a PostgreSQL state lives, as errors name it (never with its password). */
export interface PgTarget {
  /** The database URL with its password replaced by `***`. */
  url: string;
  /** `host:port` of the server. */
  server: string;
  database: string;
  schema: string;
}

const RESUME = 'nothing already delivered is lost: the next run resumes from the queue and the id map kept in PostgreSQL';

/** The URL with its password (if any) replaced by `***`; anything unparsable becomes `(database URL)`. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/**
 * Reads `postgres://user:password@host:port/database?schema=NAME` (or `postgresql://`): the URL for
 * the `pg` client (without `schema`, which is qiao's), and where the state lives.
 * @throws InputError (exit 2) when it is not such a URL, or the schema name is not a plain identifier.
 */
export function parseDatabaseUrl(url: string, source = 'flag --database'): { connectionString: string; target: PgTarget } {
  let u: URL;
  const bad = (expected: string, found: string, hint: string) =>
    new InputError([{ file: source, pointer: '', expected, found, hint }], { reason: 'state.database_url' });
  try {
    u = new URL(url);
  } catch {
    throw bad('a PostgreSQL URL (postgres://user@host:5432/database)', 'a value that is not a URL', 'write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE, with special characters of the password percent-encoded');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw bad('a PostgreSQL URL (postgres:// or postgresql://)', `a ${u.protocol.replace(/:$/, '')}:// URL`, 'qiao keeps state in SQLite (--state DIR) or PostgreSQL (--database postgres://…); leave --database out for SQLite');
  }
  if (!u.hostname) throw bad('a PostgreSQL URL with a host', redactDatabaseUrl(url), 'write it as postgres://USER@HOST:5432/DATABASE');
  const schema = u.searchParams.get('schema') ?? 'qiao';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw bad('a schema name of lower-case letters, digits and _ (at most 63, not starting with a digit)', JSON.stringify(schema), 'pass ?schema=qiao (the default) or another plain name');
  }
  u.searchParams.delete('schema');
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
  const target: PgTarget = { url: redactDatabaseUrl(url), server: `${u.hostname}:${u.port || '5432'}`, database, schema };
  return { connectionString: u.toString(), target };
}

/** The place named in a `StateError`'s `path`: the redacted URL and the schema. */
export function placeOf(t: PgTarget): string {
  return `${t.url} (schema ${t.schema})`;
}

/** The state is not in this schema (before opening, for a command that only looks) or was dropped during a run. */
export function pgStateDeleted(t: PgTarget, when: 'before' | 'during', cause?: unknown): StateError {
  return when === 'before'
    ? new StateError(`there is no qiao state in schema ${t.schema} of database ${t.database} on ${t.server}: no run has used it, or it was dropped`, {
        reason: 'state.deleted',
        path: placeOf(t),
        cause,
        hint: 'check --database and QIAO_DATABASE_URL (database and ?schema= must be those your runs use); if it was dropped, restore it from a backup',
      })
    : new StateError(`the qiao state in schema ${t.schema} of database ${t.database} on ${t.server} was dropped (or replaced) while this run was using it: what this run recorded (deliveries, queue, cursor) is lost with it`, {
        reason: 'state.deleted',
        path: placeOf(t),
        cause,
        hint: "restore the schema from a backup if you have one; otherwise the next run starts a new state there and reads everything again — records already in the target are found by the target's lookup, so nothing is written twice",
      });
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** The connection failed or dropped: the errors `pg` and Node give for an unreachable or stopped server. */
function isConnectionFailure(e: { code?: unknown; message?: unknown }): boolean {
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    NETWORK.has(code) ||
    code.startsWith('08') || // connection exception
    code === '57P01' || code === '57P02' || code === '57P03' || // shut down, crashed, starting up
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Connection closed/i.test(message)
  );
}

/** PostgreSQL cannot be reached (down, wrong host or port, network). */
export function pgUnreachable(t: PgTarget, cause: unknown): StateError {
  const e = cause as { code?: string; message?: string };
  const why = e.code && NETWORK.has(e.code) ? e.code : (e.message ?? String(cause));
  return new StateError(`PostgreSQL at ${t.server} (database ${t.database}, schema ${t.schema}) cannot be reached: ${why}`, {
    reason: 'state.unavailable',
    path: placeOf(t),
    cause,
    hint: `check that PostgreSQL runs and accepts connections on ${t.server} (pg_isready -h ${t.server.replace(/:(\d+)$/, ' -p $1')}) and that --database / QIAO_DATABASE_URL names it; then run again; ${RESUME}`,
  });
}

/**
 * The {@link StateError} an error of PostgreSQL or of the connection means for the state store, or
 * `undefined` when it is none of those (a bug, a constraint: those go on as they are).
 */
export function toPgStateError(e: unknown, t: PgTarget): StateError | InputError | undefined {
  if (e instanceof StateError || e instanceof InputError) return e;
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (isConnectionFailure(err)) return pgUnreachable(t, e);
  if (code.startsWith('28')) {
    return new StateError(`PostgreSQL at ${t.server} refused the login to database ${t.database}: ${message}`, {
      reason: 'state.unavailable',
      path: placeOf(t),
      cause: e,
      hint: 'check the user and password in --database / QIAO_DATABASE_URL, and pg_hba.conf on the server',
    });
  }
  if (code === '3D000') {
    return new StateError(`PostgreSQL at ${t.server} has no database ${t.database}`, {
      reason: 'state.unavailable',
      path: placeOf(t),
      cause: e,
      hint: `create it (createdb -h ${t.server.replace(/:(\d+)$/, ' -p $1')} ${t.database}) or fix the database name in --database / QIAO_DATABASE_URL`,
    });
  }
  if (code === '53100') {
    return new StateError(`the qiao state in database ${t.database} on ${t.server} cannot grow: the server's disk is full`, {
      reason: 'state.full',
      path: placeOf(t),
      cause: e,
      hint: `free space on the PostgreSQL server, then run again; ${RESUME}`,
    });
  }
  if (code === '42501' || code === '25006') {
    return new StateError(`the qiao state in schema ${t.schema} of database ${t.database} on ${t.server} cannot be written: ${message}`, {
      reason: 'state.read_only',
      path: placeOf(t),
      cause: e,
      hint: `grant the user of --database CREATE on the database and all privileges on schema ${t.schema}, or connect to the primary (not a read-only replica); ${RESUME}`,
    });
  }
  // the schema or a table was dropped while the store used it
  if (code === '3F000' || code === '42P01') return pgStateDeleted(t, 'during', e);
  if (code.startsWith('53') || code.startsWith('57') || code.startsWith('58') || code === '40001' || code === '40P01') {
    return new StateError(`the qiao state in database ${t.database} on ${t.server} cannot be used: ${message} (${code})`, {
      reason: 'state.unavailable',
      path: placeOf(t),
      cause: e,
      hint: `check the PostgreSQL server (its log says more), then run again; ${RESUME}`,
    });
  }
  return undefined;
}
