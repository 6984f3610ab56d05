import type { InjectionToken } from 'tsyringe';
import type { Logger } from './logger.js';

/** A mapped payload, ready for a target operation. */
export type TargetPayload = Record<string, unknown>;

export interface WriteContext {
  /** The source record's primary key (`company_id`). */
  key: string;
  /**
   * The target id this key was written under before (from the state store's id map), if any.
   * Targets use it to update without a lookup.
   */
  knownId?: string | undefined;
  /**
   * An earlier attempt at this write may have reached the target (the process died while it was in
   * flight, or the answer was lost). The target must find out before it inserts.
   */
  maybeWritten: boolean;
  signal: AbortSignal;
  logger: Logger;
}

export type WriteOutcome = 'inserted' | 'updated' | 'unchanged';

export interface WriteResult {
  outcome: WriteOutcome;
  /** The target's id of the record (BIP's customer id), always a string. */
  id?: string;
}

/**
 * The write side of the write dispatcher (写入调度者): writes one payload.
 * Upsert decisions (look the key up, then insert or update) live here, so a repeated write never
 * creates a second record.
 */
export interface Target {
  write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult>;
  /**
   * Optional: gets the connection ready (addresses, token) while the source is still being read, so
   * the first write does not wait for it. Called once per run, not awaited; a failure is ignored here
   * and met again, with its message, by the first write.
   */
  warmUp?(signal: AbortSignal): Promise<void>;
}


/** The DI token a connector registers the target of operation `id` under. */
export function targetToken(operationId: string): InjectionToken<Target> {
  return `qiao.target:${operationId}`;
}
