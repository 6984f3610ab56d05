import { Flags } from '@oclif/core';
import { describeState, openStateStore, resolveStateDir, SqliteStateStore, StateError, type AnyStateStore } from '@qiao/core';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
export async function withStateStore<T>(flags: StateFlagValues, fn: (store: AnyStateStore) => T | Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  let store: AnyStateStore;
  let cleanup: (() => void) | undefined;
  try {
    store = await openState(flags, { create: false });
  } catch (e) {
    // SQLite in a folder the user may read but not write: looked at read-only, or through a snapshot
    const sqlite = !flags.database && !(process.env.QIAO_DATABASE_URL && flags.state === undefined);
    if (!sqlite || !options.readOnly || !(e instanceof StateError) || e.reason !== 'state.read_only') throw e;
    ({ store, cleanup } = openForLooking(resolveStateDir(flags.state), e));
  }
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
function openForLooking(dir: string, e: StateError): { store: SqliteStateStore; cleanup?: () => void } {
  {
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
