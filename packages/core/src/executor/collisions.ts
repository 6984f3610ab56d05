import type { Delivered, StateStore } from '../contracts/state-store.js';
import type { TargetPayload, WriteResult } from '../contracts/target.js';
import { RecordError } from '../errors/errors.js';

/** The dead-letter reason of a record whose target key another source record already holds. */
export const KEY_COLLISION = 'target.key_collision';

/** A source record holding a target key: its key, and its name when the payload gave one. */
interface Holder {
  key: string;
  label: string | undefined;
}

export interface KeyGuardOptions {
  store: StateStore;
  scheme: string;
  /** The operation's upsert key (`upsert.key` in its manifest, YonBIP's `code`): the payload field the target matches records by. */
  upsertKey: string;
}

/**
 * One target record per source record, or a clear refusal. Before a write, the record's business key
 * (the mapped upsert key, e.g. YonBIP's `code`) is checked against the id map (the key last delivered
 * and the code the target answered, of every other source key) and against the writes of this run; a
 * lookup the target makes is checked through `WriteContext.checkFound`. When another source key holds
 * it, the record becomes a dead letter (`target.key_collision`) naming both source records and the
 * code: the target never updates another record's customer, and the record that held the code first
 * stays untouched.
 */
export class KeyGuard {
  /** Codes (business keys sent, codes answered) of this run's writes, claimed before the write starts. */
  private readonly codes = new Map<string, Holder>();
  /** Target ids this run's writes answered (their completions may not be saved yet). */
  private readonly ids = new Map<string, Holder>();

  constructor(private readonly o: KeyGuardOptions) {}

  /** The payload's business key, as a string; undefined when the payload has none. */
  businessKey(payload: TargetPayload): string | undefined {
    const v = payload[this.o.upsertKey];
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;
  }

  /**
   * Before a write: the refusal when another source key holds this record's business key; otherwise
   * the key is this record's for the rest of the run.
   */
  async check(key: string, payload: TargetPayload): Promise<RecordError | undefined> {
    const code = this.businessKey(payload);
    if (code === undefined) return undefined;
    const held = (await this.o.store.holders(this.o.scheme, { codes: [code] })).find((d) => d.key !== key);
    // No await from here on: two writers of one code cannot both pass.
    const inRun = this.codes.get(code);
    if (inRun && inRun.key !== key) return this.refusal(key, payload, code, inRun, 'is being written by this run');
    if (held) return this.refusal(key, payload, code, { key: held.key, label: undefined }, describeHeld(held));
    this.codes.set(code, { key, label: labelOf(payload) });
    return undefined;
  }

  /** A written record: the id and the code the target answered belong to its key. */
  written(key: string, payload: TargetPayload, result: WriteResult): void {
    const holder = { key, label: labelOf(payload) };
    if (result.id !== undefined) this.ids.set(result.id, holder);
    if (result.targetCode !== undefined && !this.codes.has(result.targetCode)) this.codes.set(result.targetCode, holder);
  }

  /** `WriteContext.checkFound` for one write: rejects when the record the target found belongs to another source key. */
  checkFound(key: string, payload: TargetPayload): (found: { id: string; code?: string | undefined }) => Promise<void> {
    return async (found) => {
      const code = found.code ?? this.businessKey(payload) ?? '';
      const inRun = this.ids.get(found.id) ?? (found.code !== undefined ? this.codes.get(found.code) : undefined);
      if (inRun && inRun.key !== key) throw this.refusal(key, payload, code, inRun, `was written by this run as target id ${found.id}`);
      const held = (await this.o.store.holders(this.o.scheme, { targetIds: [found.id], codes: found.code !== undefined ? [found.code] : [] })).find((d) => d.key !== key);
      if (held) throw this.refusal(key, payload, code, { key: held.key, label: undefined }, `is tied to target id ${found.id} in the id map`);
    };
  }

  private refusal(key: string, payload: TargetPayload, code: string, holder: Holder, how: string): RecordError {
    const field = this.o.upsertKey;
    return new RecordError(
      `record ${named(key, labelOf(payload))} maps to ${field} ${JSON.stringify(code)}, which record ${named(holder.key, holder.label)} ${how}: ` +
        `two source records would share one target record. Record ${key} was not written, and record ${holder.key}'s target record was left as it is`,
      { reason: KEY_COLLISION },
    );
  }
}

function describeHeld(d: Delivered): string {
  const id = d.targetId ? ` (target id ${d.targetId}${d.targetCode && d.targetCode !== d.businessKey ? `, code ${d.targetCode}` : ''})` : '';
  return `already holds in the id map${id}`;
}

function named(key: string, label: string | undefined): string {
  return label ? `${key} (${label})` : key;
}

/** A name to show for a payload: its `name`, or the first text of a multilingual `name` (`{ zh_CN: … }`). */
function labelOf(payload: TargetPayload): string | undefined {
  const name = payload.name;
  if (typeof name === 'string') return name;
  if (name && typeof name === 'object') return Object.values(name).find((v): v is string => typeof v === 'string' && v !== '');
  return undefined;
}
