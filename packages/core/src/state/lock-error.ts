import { InputError } from '../errors/errors.js';

/** The error a second run of the same scheme gets. */
export function lockHeldError(scheme: string, dir: string, holder: { pid: number; host: string; acquired_at: string }): InputError {
  return new InputError([
    {
      file: dir,
      pointer: '',
      expected: `no other run of scheme ${scheme} in this state directory`,
      found: `a run by process ${holder.pid} on ${holder.host}, started ${holder.acquired_at}`,
      hint: 'wait for it to finish, or pass --wait to queue behind it',
    },
  ], { reason: 'scheme.locked' });
}
