import type { LockHolder } from '../contracts/state-store.js';
import { InputError } from '../errors/errors.js';

/** The error a second run of the same scheme gets: who holds the lock, since when, and what to do. */
export function lockHeldError(scheme: string, dir: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'> & Partial<LockHolder>): InputError {
  const renewed = holder.renewedAt ? `, last renewed ${holder.renewedAt}` : '';
  const expires = holder.expiresAt ? ` (taken over if not renewed by ${holder.expiresAt})` : '';
  return new InputError([
    {
      file: dir,
      pointer: '',
      expected: `no other run of scheme ${scheme} in this state directory`,
      found: `a run by process ${holder.pid} on ${holder.host}, started ${holder.acquiredAt}${renewed}${expires}`,
      hint: `wait for it to finish, or pass --wait to queue behind it; if that process is gone for good, \`qiao unlock ${scheme}\` removes its lock`,
    },
  ], { reason: 'scheme.locked' });
}
