import { Args, Flags } from '@oclif/core';
import { InputError, type LockHolder } from '@qiao/core';
import { QiaoCommand } from '../lib/base-command.js';
import { formatDuration, out, printJson } from '../lib/output.js';
import { schemeIdOf } from '../lib/scheme-id.js';
import { stateFlags, stateLocation, withStateStore } from '../lib/state.js';

export default class Unlock extends QiaoCommand {
  static override summary = "Remove a scheme's run lock by hand, saying who held it and since when.";
  static override description = `Rarely needed: a run renews its lock every 10 s, and the next run takes over on its own a lock not renewed for its lease (60 s), from any host, or one left by a process of this host that is gone.
Refuses a lock renewed within its lease (its run is probably still going on) unless --force.
Exit codes: 0 removed; 2 no lock, or a live lock without --force; 3 the state cannot be used.`;
  static override examples = [
    '<%= config.bin %> unlock okki-to-yonbip.scheme.yaml',
    '<%= config.bin %> unlock okki-company-to-yonbip-merchant --state /var/lib/qiao --json',
    '<%= config.bin %> unlock okki-to-yonbip.scheme.yaml --force',
  ];
  static override args = { scheme: Args.string({ description: 'scheme file or scheme id', required: true }) };
  static override flags = {
    force: Flags.boolean({ description: 'remove the lock even though its holder renewed it within its lease (its run may still be going on)' }),
    ...stateFlags(),
    json: Flags.boolean({ description: 'print the removed lock as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Unlock);
    const scheme = await schemeIdOf(args.scheme);
    const dir = stateLocation(flags);
    const holder = await withStateStore(flags, async (store) => {
      const h = await store.lockHolder(scheme);
      if (!h) throw noLock(dir, scheme);
      if (!h.stale && !flags.force) throw liveLock(dir, args.scheme, h);
      // a run that took the lock since we looked keeps it
      if (!(await store.unlock(scheme, h))) throw noLock(dir, scheme, 'its holder released it, or another run took it over, just now');
      return h;
    });
    if (flags.json) return printJson({ scheme, state: dir, removed: true, holder });
    out(`Removed the run lock of ${scheme} in ${dir}: ${describe(holder)}.`);
    out(holder.stale ? 'The next run of the scheme can start.' : 'Its run may still be going on: if it is, the next renewal tells it that it lost the lock, and it stops.');
  }
}

function describe(h: LockHolder): string {
  const ago = (iso: string) => formatDuration(Math.max(0, Date.now() - Date.parse(iso)));
  return `held by process ${h.pid} on ${h.host} since ${h.acquiredAt} (${ago(h.acquiredAt)} ago), last renewed ${h.renewedAt} (${ago(h.renewedAt)} ago, lease ${formatDuration(h.leaseMs)})`;
}

function noLock(dir: string, scheme: string, why = 'no run holds it'): InputError {
  return new InputError(
    [{ file: dir, pointer: '', expected: `a run lock of scheme ${scheme} to remove`, found: `none: ${why}`, hint: 'nothing to unlock; the next run can start (check --state if you expected a lock here)' }],
    { reason: 'unlock.no_lock' },
  );
}

function liveLock(dir: string, arg: string, h: LockHolder): InputError {
  return new InputError(
    [
      {
        file: dir,
        pointer: '',
        expected: 'a lock whose holder stopped renewing it',
        found: `a live lock: ${describe(h)}`,
        hint: `its run is probably still going on (see \`qiao runs ${arg}\`); if that process is gone, wait until ${h.expiresAt} when the next run takes the lock over by itself, or pass --force`,
      },
    ],
    { reason: 'unlock.live' },
  );
}
