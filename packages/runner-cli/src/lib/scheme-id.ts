import { existsSync } from 'node:fs';
import { loadSchemeForCli } from './load.js';

/**
 * The scheme id a command argument names: a scheme file (its `id`), or the id itself, so that state
 * can be inspected without the file or its environment variables.
 */
export async function schemeIdOf(arg: string): Promise<string> {
  if (!existsSync(arg)) return arg;
  try {
    return (await loadSchemeForCli(arg, { quiet: true })).scheme.id;
  } catch (e) {
    // A scheme whose env variables are not set here can still be inspected by its id.
    const { readFileSync } = await import('node:fs');
    const m = /^\s*"?id"?\s*:\s*"?([A-Za-z0-9_.-]+)"?/m.exec(readFileSync(arg, 'utf8'));
    if (m) return m[1]!;
    throw e;
  }
}

/** The zone of the cursor of the scheme a file names (its stream manifest's `cursor.timezone`), when it loads. */
export async function cursorTimezoneOf(arg: string): Promise<string | undefined> {
  if (!existsSync(arg)) return undefined;
  try {
    return (await loadSchemeForCli(arg, { quiet: true })).source.stream.cursor?.timezone;
  } catch {
    return undefined;
  }
}
