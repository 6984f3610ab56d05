import type { Hook } from '@oclif/core';
import { closest } from '@qiao/core';

/**
 * `qiao rnu` → "did you mean run?". On a terminal, oclif's not-found plugin asks "Did you mean run?"
 * and runs it on yes; elsewhere (a script, CI) that plugin prints no suggestion at all, so the
 * suggestion is printed here and the exit code is 127, a shell's "command not found".
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const visible = opts.config.commands.filter((c) => !c.hidden);
  const ids = [...visible.map((c) => c.id), ...visible.flatMap((c) => c.aliases)];
  // `qiao queue retyr --id 3` arrives as the id `queue:retyr:--id:3`: the longest known prefix wins
  const parts = opts.id.split(':');
  let suggestion: string | undefined;
  for (let n = parts.length; n > 0 && !suggestion; n--) suggestion = closest(parts.slice(0, n).join(':'), ids);
  if (process.stdin.isTTY && process.stdout.isTTY) {
    const plugin = (await import('@oclif/plugin-not-found')).default as unknown as Hook.CommandNotFound;
    return plugin.call(this, opts);
  }
  const typed = opts.id.replace(/:/g, ' ');
  const said = suggestion ? `did you mean \`${opts.config.bin} ${suggestion.replace(/:/g, ' ')}\`?` : `see \`${opts.config.bin} help\` for the commands`;
  process.stderr.write(`Error: \`${opts.config.bin} ${typed}\`: ${parts[0]} is not a ${opts.config.bin} command\n  hint: ${said}\n`);
  this.exit(127);
};

export default hook;
