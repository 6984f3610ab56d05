import { StateError } from '../errors/errors.js';

/** Where a state failure happened: the state directory and its database file. */
export interface StatePaths {
  dir: string;
  file: string;
}

const RESUME = 'nothing already delivered is lost: the next run resumes from the queue and the id map';

/** The state database cannot grow (SQLITE_FULL, ENOSPC). */
export function stateFull(p: StatePaths, cause?: unknown): StateError {
  return new StateError(`the state database ${p.file} cannot grow: the disk holding ${p.dir} is full`, {
    reason: 'state.full',
    path: p.file,
    cause,
    hint: `free space on that disk (or move the state directory elsewhere and pass --state), then run again; ${RESUME}`,
  });
}

/** The state directory or database cannot be written (SQLITE_READONLY, EACCES, EPERM, EROFS). */
export function stateReadOnly(p: StatePaths, cause?: unknown): StateError {
  return new StateError(`the state directory ${p.dir} (database ${p.file}) cannot be written: it is read-only for this user or on a read-only file system`, {
    reason: 'state.read_only',
    path: p.dir,
    cause,
    hint: `give the user running qiao write access to ${p.dir} and the files in it (state.db, state.db-wal, state.db-shm), or remount it read-write; ${RESUME}`,
  });
}

/** The state directory or database is gone: before opening (a command that only reads), or during a run. */
export function stateDeleted(p: StatePaths, when: 'before' | 'during', cause?: unknown): StateError {
  return when === 'before'
    ? new StateError(`there is no state at ${p.file}: the state directory was deleted, or --state / QIAO_STATE_DIR points somewhere no run has used`, {
        reason: 'state.deleted',
        path: p.dir,
        cause,
        hint: `check --state and QIAO_STATE_DIR (they must name the directory your runs use); if it was deleted, restore ${p.dir} from a backup`,
      })
    : new StateError(`the state database ${p.file} was deleted (or replaced) while this run was using it: what this run recorded (deliveries, queue, cursor) is lost with it`, {
        reason: 'state.deleted',
        path: p.file,
        cause,
        hint: `restore ${p.dir} from a backup if you have one; otherwise the next run starts a new state there and reads everything again — records already in the target are found by the target's lookup (the YonBIP template looks them up by code), so nothing is written twice`,
      });
}

/** The database fails its integrity check or is not a SQLite database (SQLITE_CORRUPT, SQLITE_NOTADB). */
export function stateCorrupt(p: StatePaths, detail: string, cause?: unknown): StateError {
  return new StateError(`the state database ${p.file} is corrupt: ${detail}`, {
    reason: 'state.corrupt',
    path: p.file,
    cause,
    hint: `stop every qiao using ${p.dir}; restore state.db from a backup, or move it aside (mv ${p.file} ${p.file}.corrupt, and its -wal and -shm files) so the next run starts a new one — it reads everything again and the target's lookup keeps records from being written twice`,
  });
}

/** Another I/O failure of the state database (busy for too long, cannot be opened, I/O error). */
export function stateUnavailable(p: StatePaths, cause: unknown): StateError {
  const e = cause as { code?: string; message?: string };
  return new StateError(`the state database ${p.file} cannot be used: ${e.message ?? String(cause)}${e.code ? ` (${e.code})` : ''}`, {
    reason: 'state.unavailable',
    path: p.file,
    cause,
    hint: `check the disk and the file system holding ${p.dir} (a network file system must support file locks), and that no other program holds the database; then run again; ${RESUME}`,
  });
}

/**
 * The {@link StateError} an error of SQLite or the file system means for the state store, or
 * `undefined` when it is none of those (a bug, a constraint: those go on as they are).
 */
export function toStateError(e: unknown, p: StatePaths): StateError | undefined {
  if (e instanceof StateError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return stateFull(p, e);
  // moved or unlinked while open (SQLite notices it in rollback-journal mode)
  if (code === 'SQLITE_READONLY_DBMOVED') return stateDeleted(p, 'during', e);
  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return stateReadOnly(p, e);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return stateCorrupt(p, (e as Error).message, e);
  if (code === 'ENOENT') return stateDeleted(p, 'before', e);
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PROTOCOL' || code === 'SQLITE_NOLFS') {
    return stateUnavailable(p, e);
  }
  return undefined;
}
