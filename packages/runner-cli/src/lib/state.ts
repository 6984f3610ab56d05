import { Flags } from '@oclif/core';
import { describeState, openStateStore, type AnyStateStore } from '@qiao/core';
import { knownSecrets } from './secrets.js';

/** The `--state DIR` flag every command that reads or writes state takes. */
export const stateFlag = () => Flags.string({ description: 'state directory (default: $QIAO_STATE_DIR, else .qiao/)' });

/** The `--database URL` flag: the state in PostgreSQL, shared by every qiao pointed at it. */
export const databaseFlag = () =>
  Flags.string({
    description: 'PostgreSQL URL of a shared state, postgres://USER:PASSWORD@HOST:5432/DATABASE?schema=qiao (default: $QIAO_DATABASE_URL, else SQLite in --state)',
    exclusive: ['state'],
  });

/**
 * The flags of every command that opens the state store: `--state DIR` (SQLite, the default) and
 * `--database URL` (PostgreSQL). Spread them into a command's `flags`.
 */
export const stateFlags = () => ({ state: stateFlag(), database: databaseFlag() });

/** What a command parsed of {@link stateFlags}. */
export interface StateFlagValues {
  state?: string | undefined;
  database?: string | undefined;
}

/** The password of a database URL is a secret: every error and log line the CLI prints is redacted of it. */
function rememberPassword(flags: StateFlagValues): void {
  for (const url of [flags.database, process.env.QIAO_DATABASE_URL]) {
    if (!url) continue;
    try {
      const raw = new URL(url).password;
      // as written in the URL (percent-encoded) and as the server sees it
      for (const p of [raw, decodeURIComponent(raw)]) if (p && !knownSecrets.includes(p)) knownSecrets.push(p);
    } catch {
      // not a URL: openStateStore says so, without echoing it
    }
  }
}

/**
 * Opens the state store of the command's flags: PostgreSQL for `--database` (or `QIAO_DATABASE_URL`
 * when `--state` is not given), else SQLite in the state directory.
 * @param options.create `false` for commands that only look at state: a missing state fails (`state.deleted`, exit 3)
 */
export async function openState(flags: StateFlagValues, options: { create?: boolean } = {}): Promise<AnyStateStore> {
  rememberPassword(flags);
  return openStateStore({ database: flags.database, stateDir: flags.state, ...options });
}

/** Where the state of the command's flags lives, as messages name it: the directory, or the database URL without its password. */
export function stateLocation(flags: StateFlagValues): string {
  return describeState({ database: flags.database, stateDir: flags.state });
}

/**
 * Opens the state store of `--state` / `--database` (or their defaults) for a command that looks at
 * state (`queue`, `runs`, `overview`, `unlock`), runs `fn`, and closes the store. Such a command never
 * creates state: a missing state directory or schema fails with a `StateError` (`state.deleted`, exit
 * 3) that says so, instead of an empty overview that would hide a deleted or mistyped one.
 */
export async function withStateStore<T>(flags: StateFlagValues, fn: (store: AnyStateStore) => T | Promise<T>): Promise<T> {
  const store = await openState(flags, { create: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
