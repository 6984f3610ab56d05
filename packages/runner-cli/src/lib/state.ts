import { Flags } from '@oclif/core';
import { resolveStateDir, SqliteStateStore } from '@qiao/core';

/** The `--state DIR` flag every command that reads or writes state takes. */
export const stateFlag = () => Flags.string({ description: 'state directory (default: $QIAO_STATE_DIR, else .qiao/)' });

/**
 * Opens the state store of `--state` (or its defaults) for a command that looks at state (`queue`,
 * `runs`, `overview`, `unlock`), runs `fn`, and closes the store. Such a command never creates state:
 * a missing state directory fails with a `StateError` (`state.deleted`, exit 3) that says so, instead
 * of an empty overview that would hide a deleted or mistyped directory.
 */
export async function withStateStore<T>(flag: string | undefined, fn: (store: SqliteStateStore) => T | Promise<T>): Promise<T> {
  const store = new SqliteStateStore(resolveStateDir(flag), { create: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
