import type { Mapper } from '../contracts/mapper.js';
import type { SourceRecord } from '../contracts/source.js';
import type { Delivered } from '../contracts/state-store.js';
import type { TargetPayload } from '../contracts/target.js';
import { formatProblem, isQiaoError, type Problem } from '../errors/errors.js';
import { fingerprint } from './fingerprint.js';

/**
 * The map stage: one source record → its payload, checked against the operation's input schema and
 * fingerprinted, then compared with what was last delivered. `runScheme`, `previewScheme` and
 * `dryRunScheme` all go through these two functions, so what a preview or a dry run says a run would
 * do is what the run does.
 */
export interface MapStage {
  mapper: Mapper;
  /** Checks a mapped payload against the operation's input schema. */
  checkPayload?: ((payload: unknown) => Problem[]) | undefined;
}

interface Keyed {
  key: string;
  cursor: string | undefined;
}

/** A payload to write: `write`, or `unchanged` when its fingerprint is the one last delivered for its key. */
export interface MappedPayload extends Keyed {
  kind: 'write' | 'unchanged';
  payload: TargetPayload;
  fingerprint: string;
}

/** A record that becomes a dead letter before any write: its mapping threw, or its payload does not fit. */
export interface MappedDead extends Keyed {
  kind: 'dead';
  /** The payload when mapping worked and the schema check failed; `null` when mapping threw. */
  payload: TargetPayload | null;
  /** The record as read, kept so that a re-queued dead letter is mapped again with the mapping of then. */
  source: Record<string, unknown>;
  /** The dead-letter reason (`payload.invalid`, `mapping.error`, or the mapper's own reason). */
  code: string;
  message: string;
  /** Each problem on its own, for a preview. */
  problems: string[];
}

/** A record the source had nothing to deliver for (deleted in the source, say). */
export interface MappedSkip extends Keyed {
  kind: 'skip';
  reason: string;
  message: string;
}

export type Mapped = MappedPayload | MappedDead | MappedSkip;

/** Maps, checks and fingerprints one record. Never throws: a failure is a `dead` result. */
export async function mapRecord(rec: SourceRecord, stage: MapStage): Promise<Mapped> {
  if (rec.skip) return { key: rec.key, cursor: rec.cursor, kind: 'skip', reason: rec.skip.reason, message: rec.skip.message };
  return mapPayload(rec, stage);
}

/** {@link mapRecord} of a record the source did not skip (or one kept as a dead letter, mapped again). */
export async function mapPayload(rec: SourceRecord, stage: MapStage): Promise<MappedPayload | MappedDead> {
  const at = { key: rec.key, cursor: rec.cursor };
  let payload: TargetPayload;
  try {
    payload = await stage.mapper.map(rec);
  } catch (e) {
    const code = isQiaoError(e) ? (e.reason ?? e.code) : 'mapping.error';
    const message = e instanceof Error ? e.message : String(e);
    return { ...at, kind: 'dead', payload: null, source: rec.data, code, message, problems: [message] };
  }
  const problems = (stage.checkPayload?.(payload) ?? []).map(formatProblem);
  if (problems.length) {
    const message = `record ${rec.key}: the mapped payload does not fit the operation: ${problems.join('; ')}`;
    return { ...at, kind: 'dead', payload, source: rec.data, code: 'payload.invalid', message, problems };
  }
  return { ...at, kind: 'write', payload, fingerprint: fingerprint(payload) };
}

/** Reads what was last delivered for some keys (`StateStore.delivered`, bound to a scheme). */
export type DeliveredLookup = (keys: string[]) => Map<string, Delivered> | Promise<Map<string, Delivered>>;

/**
 * Marks as `unchanged` the payloads whose fingerprint is the one last delivered for their key, in one
 * look-up for the batch. Without a look-up (a preview with no state yet), nothing is unchanged.
 */
export async function markUnchanged(batch: Mapped[], delivered: DeliveredLookup | undefined): Promise<Mapped[]> {
  if (!delivered) return batch;
  const keys = batch.filter((m) => m.kind === 'write').map((m) => m.key);
  if (keys.length === 0) return batch;
  const last = await delivered(keys);
  return batch.map((m) => (m.kind === 'write' && last.get(m.key)?.fingerprint === m.fingerprint ? { ...m, kind: 'unchanged' } : m));
}
