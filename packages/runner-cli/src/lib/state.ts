import { Flags } from '@oclif/core';
import { resolveStateDir, SqliteStateStore } from '@qiao/core';

/** The `--state DIR` flag every command that reads or writes state takes. */
export const stateFlag = () => Flags.string({ description: 'state directory (default: $QIAO_STATE_DIR, else .qiao/)' });

/** Opens the state store of `--state` (or its defaults), runs `fn`, and closes the store. */
export async function withStateStore<T>(flag: string | undefined, fn: (store: SqliteStateStore) => T | Promise<T>): Promise<T> {
  const store = new SqliteStateStore(resolveStateDir(flag));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
