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
   * The target's own code for this record as it answered the last write (from the id map), when it
   * has one and it may differ from the mapped payload's (a YonBIP coding rule 编码规则 replaces the
   * code on insert). Targets use it to find and update the record by the code the target holds.
   */
  knownCode?: string | undefined;
  /**
   * Top-level fields of the payload to clear, on an update only: the last payload delivered for this
   * key had them, this one has none (the source field was emptied), and the scheme does not keep them
   * (`target.keepWhenEmpty`). The target sends each as a clear in the form its system accepts; on an
   * insert it ignores them (an insert leaves empty fields out).
   */
  clears?: string[] | undefined;
  /**
   * Called by the target before it writes to a record it found by a lookup (rather than by
   * `knownId`): rejects with a `RecordError` (reason `target.key_collision`) when the id map ties that
   * record to another source key. Two source records that map to one target key are refused, never
   * merged into one record. Absent when there is nothing to check against.
   */
  checkFound?: ((found: { id: string; code?: string | undefined }) => Promise<void>) | undefined;
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
  /**
   * The target's code of the record as the target answered it, when the target has codes (YonBIP's
   * `code`, which a coding rule may have replaced on insert). The id map keeps it beside `id` and
   * hands it back as {@link WriteContext.knownCode}.
   */
  targetCode?: string;
}

/** What {@link Target.preflight} gets: the scheme's view of this operation. */
export interface PreflightContext {
  /**
   * The values the scheme's mapping sets as constants (`field: { value: … }`), by target field path
   * (`createOrg`, `merchantAppliedDetail.taxRate`), `${env:…}` already resolved.
   */
  constants: Record<string, unknown>;
  signal?: AbortSignal | undefined;
}

/** One thing a preflight checked, passed or not. */
export interface PreflightFinding {
  ok: boolean;
  /** What was checked, in a few words (`API merchant/save`, `createOrg 1870…`). */
  subject: string;
  /** What was found. */
  message: string;
  /** What to do, when it failed. */
  hint?: string | undefined;
  /** The system's code or a qiao reason (`yonbip.310404`). */
  reason?: string | undefined;
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
  /**
   * Optional: checks, before a run (`qiao check`), what this operation needs from the target system
   * beyond working credentials: that the APIs it calls exist for this tenant, that the ids the
   * mapping sets as constants exist. Resolves with one finding per thing checked; rejects only when
   * it could not check at all.
   */
  preflight?(ctx: PreflightContext): Promise<PreflightFinding[]>;
  /**
   * Optional: writes several payloads in one call to the target (YonBIP's `batch/merchant/save`). The
   * executor uses it when the operation's manifest declares `batch: { maxSize }`, handing it up to that
   * many claimed items at once. It resolves with one {@link BatchResult} per item, in the items' order:
   * a record the target rejected is that item's `RecordError` (its dead letter), one that could not be
   * written now is a `RetryableError`. It rejects only when the batch as a whole failed; a rejection
   * with an outcome-unknown `RetryableError` marks every item of the batch maybe-written, so the next
   * attempt looks them up before it sends anything again.
   */
  writeBatch?(items: BatchItem[]): Promise<BatchResult[]>;
}

/** What {@link Remover.remove} and {@link Remover.restore} get. */
export interface RemoveContext {
  /** The source record's primary key. */
  key: string;
  /** The target id the key was delivered under (id map): only records qiao delivered are stopped. */
  knownId: string;
  /**
   * The scheme's mapping of what the source still shows of the record (a deleted row), when it could
   * be mapped: tells the target what it cannot know from the id alone (YonBIP: the org, `createOrg`).
   */
  payload?: TargetPayload | undefined;
  signal: AbortSignal;
  logger: Logger;
}

/**
 * - `stopped` / `started`: the record was stopped (disabled) / started again;
 * - `unchanged`: it already was (stopping a stopped record is not an error);
 * - `gone`: the target no longer holds it: nothing to stop.
 */
export type RemoveOutcome = 'stopped' | 'started' | 'unchanged' | 'gone';

/**
 * The other side of a write operation (declared by its manifest's `remove`): stops (disables) a
 * record the operation wrote, for a scheme's `target.onDelete: stop`, and starts it again when the
 * source record comes back. Both must be idempotent: a run that dies midway repeats them.
 * Errors as for {@link Target.write}: `RecordError` for this record, `RetryableError` to stop the run.
 */
export interface Remover {
  /** Stops (disables) the record delivered under `ctx.knownId`. */
  remove(ctx: RemoveContext): Promise<{ outcome: RemoveOutcome }>;
  /** Optional: starts a stopped record again (its source record was restored or edited). */
  restore?(ctx: RemoveContext): Promise<{ outcome: RemoveOutcome }>;
}

/** The DI token a connector registers the remover of operation `id` under (see {@link Remover}). */
export function removerToken(operationId: string): InjectionToken<Remover> {
  return `qiao.remover:${operationId}`;
}
/** One payload of a {@link Target.writeBatch} call, with its own write context. */
export interface BatchItem {
  payload: TargetPayload;
  ctx: WriteContext;
}

/** The fate of one item of a batch: written, or the error that item alone got. */
export type BatchResult = { ok: true; result: WriteResult } | { ok: false; error: unknown };


/** The DI token a connector registers the target of operation `id` under. */
export function targetToken(operationId: string): InjectionToken<Target> {
  return `qiao.target:${operationId}`;
}
