import { Flags } from '@oclif/core';
import { resolveStateDir, SqliteStateStore, StateError } from '@qiao/core';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `--state DIR` flag every command that reads or writes state takes. */
export const stateFlag = () => Flags.string({ description: 'state directory (default: $QIAO_STATE_DIR, else .qiao/)' });

/**
 * Opens the state store of `--state` (or its defaults) for a command that looks at state (`queue`,
 * `runs`, `overview`, `unlock`), runs `fn`, and closes the store; with `readOnly`, a state folder the
 * user may not write is opened read-only. Such a command never creates state:
 * a missing state directory fails with a `StateError` (`state.deleted`, exit 3) that says so, instead
 * of an empty overview that would hide a deleted or mistyped directory.
 */
export async function withStateStore<T>(
  flag: string | undefined,
  fn: (store: SqliteStateStore) => T | Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const { store, cleanup } = openForLooking(resolveStateDir(flag), options.readOnly ?? false);
  try {
    return await fn(store);
  } finally {
    await store.close();
    cleanup?.();
  }
}

/**
 * A command that only reads state (`overview`, `queue`, `runs`) works on a state folder the user may
 * read but not write. Opened as usual first; refused as read-only, the database is opened read-only,
 * which SQLite allows for a WAL database while its `-shm` file exists (a run of the folder's owner is
 * going on); otherwise (SQLite would have to create that file in the folder) a snapshot of the database
 * is read from a temporary folder, removed afterwards.
 */
function openForLooking(dir: string, readOnly: boolean): { store: SqliteStateStore; cleanup?: () => void } {
  try {
    return { store: new SqliteStateStore(dir, { create: false }) };
  } catch (e) {
    if (!readOnly || !(e instanceof StateError) || e.reason !== 'state.read_only') throw e;
    try {
      return { store: new SqliteStateStore(dir, { create: false, readOnly: true }) };
    } catch {
      const copy = mkdtempSync(join(tmpdir(), 'qiao-state-'));
      const cleanup = () => rmSync(copy, { recursive: true, force: true });
      try {
        for (const f of ['state.db', 'state.db-wal']) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(copy, f));
        return { store: new SqliteStateStore(copy, { create: false }), cleanup };
      } catch {
        cleanup();
        throw e;
      }
    }
  }
}
