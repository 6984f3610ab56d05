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
  } else {
    text = `${color.red('Error:')} ${e?.message ?? String(error)}\n  hint: this looks like a bug in qiao; run again with --debug and report it`;
  }
  if (debug && e?.stack) text += `\n${color.dim(e.stack)}`;
  return redact(text, knownSecrets);
}
