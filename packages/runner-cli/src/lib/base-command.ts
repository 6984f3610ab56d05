import { Command, Flags } from '@oclif/core';
import { closest, ConnectorAuthError, ExitCode, isQiaoError, RetryableError, InputError, formatProblem, redact } from '@qiao/core';
import { color, err } from './output.js';
import { knownSecrets } from './secrets.js';

export { knownSecrets } from './secrets.js';

/**
 * Base of every qiao command: `--debug`, and errors turned into clear messages with exit codes
 * (2 invalid input, 3 fatal) and no stack trace unless `--debug` is given.
 */
export abstract class QiaoCommand extends Command {
  static override baseFlags = {
    debug: Flags.boolean({ description: 'show debug logs and stack traces', default: false, helpGroup: 'GLOBAL' }),
  };

  protected get debugMode(): boolean {
    return this.argv.includes('--debug');
  }

  private flagGuesses(flags: unknown): string | undefined {
    const ctor = this.constructor as typeof Command;
    return flagGuessesOf(flags, Object.keys({ ...ctor.baseFlags, ...ctor.flags }));
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (error.oclif?.exit !== undefined && !(isQiaoError(error))) {
      // oclif's own exits and flag/argument parse errors: their messages are already clear
      if (error.message && !error.message.startsWith('EEXIT')) {
        err(color.red('Error: ') + error.message.replace(/\n\s*See more help with --help$/, ''));
        const guesses = this.flagGuesses((error as { flags?: unknown }).flags);
        if (guesses) err(`  hint: ${guesses}`);
        err(`  hint: see \`qiao ${this.id?.replace(/:/g, ' ') ?? ''} --help\``);
        this.exit(ExitCode.invalidInput);
      }
      throw error;
    }
    const code = exitCodeOf(error);
    err(renderError(error, this.debugMode));
    this.exit(code);
  }
}

/** "did you mean --limit?" for the unknown flags of a parse error (`--limt`), when one is near a known flag. */
function flagGuessesOf(flags: unknown, known: string[]): string | undefined {
  if (!Array.isArray(flags)) return undefined;
  const said = flags.flatMap((f) => {
    const name = String(f).replace(/^-+/, '').split('=')[0]!;
    const guess = closest(name, known);
    return guess ? [`${String(f).split("=")[0]}: did you mean --${guess}?`] : [];
  });
  return said.length ? said.join('; ') : undefined;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof InputError) return ExitCode.invalidInput;
  return ExitCode.fatal;
}

/** A user-facing rendering of any error: what failed, where, and what to do. */
export function renderError(error: unknown, debug: boolean): string {
  const e = error as Error;
  let text: string;
  if (error instanceof InputError) {
    text = `${color.red('Error:')} ${error.problems.length === 1 ? '1 problem' : `${error.problems.length} problems`}\n` + error.problems.map((p) => '  ' + formatProblem(p)).join('\n');
  } else if (error instanceof ConnectorAuthError || error instanceof RetryableError) {
    text = `${color.red('Error:')} ${e.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`;
  } else if (isQiaoError(error)) {
    text = `${color.red('Error:')} ${e.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`;
  } else if (environmentError(error)) {
    const env = environmentError(error)!;
    text = `${color.red('Error:')} ${env.what}\n  hint: ${env.hint}`;
  } else {
    text = `${color.red('Error:')} ${e?.message ?? String(error)}\n  hint: this looks like a bug in qiao; run again with --debug and report it`;
  }
  if (debug && e?.stack) text += `\n${color.dim(e.stack)}`;
  return redact(text, knownSecrets);
}

/** An error of the machine qiao runs on (disk, ports, permissions): what happened and what to do. */
export function environmentError(error: unknown): { what: string; hint: string } | undefined {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number; dest?: string };
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return undefined;
  const path = e.path ?? e.dest;
  const on = path ? ` (${path})` : '';
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return {
        what: `the disk is full${on}: ${e.code === 'EDQUOT' ? 'the disk quota is used up' : 'no space left on the device'}${e.syscall ? ` while ${verb(e.syscall)}` : ''}`,
        hint: `free space on that disk (\`df -h${path ? ` ${path}` : ''}\` shows it), then run the command again`,
      };
    case 'EADDRINUSE':
      return {
        what: `port ${e.port ?? '?'}${e.address ? ` on ${e.address}` : ''} is taken: another program (or another qiao) listens on it`,
        hint: `choose another port (the command's --port flags; 0 picks a free one), or stop what listens there (\`lsof -i :${e.port ?? 'PORT'}\` shows it)`,
      };
    case 'EADDRNOTAVAIL':
      return { what: `the address ${e.address ?? ''} is not one of this machine's`, hint: 'listen on 127.0.0.1 or an address of this machine' };
    case 'EACCES':
    case 'EPERM':
      return e.syscall === 'listen' || e.port !== undefined
        ? { what: `listening on port ${e.port ?? '?'} is not permitted`, hint: 'ports below 1024 need privileges: choose a port of 1024 or more' }
        : { what: `permission denied${on}${e.syscall ? ` while ${verb(e.syscall)}` : ''}`, hint: `give the user running qiao access to ${path ?? 'that file or folder'}, or choose another path` };
    case 'EROFS':
      return { what: `the file system is read-only${on}`, hint: 'choose a path on a writable disk' };
    case 'EMFILE':
    case 'ENFILE':
      return { what: 'too many open files', hint: 'raise the limit (`ulimit -n`) or lower the concurrency in the scheme' };
    default:
      return undefined;
  }
}

function verb(syscall: string): string {
  return { open: 'opening it', write: 'writing', mkdir: 'creating the folder', rename: 'renaming', copyfile: 'copying', unlink: 'removing it' }[syscall] ?? syscall;
}
