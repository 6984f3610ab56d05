import type { TargetPayload } from '../contracts/target.js';

/**
 * Clears written on an update. The id map keeps the top-level fields each delivered payload had
 * (`Delivered.fields`); on the next write of the key, a field it had and the new payload lacks was
 * emptied in the source and is sent as a clear (`WriteContext.clears`). Derived from what was
 * delivered rather than from the mapping's fields: a field the mapping never filled for this record
 * may have been filled by hand in the target, and is left alone.
 */

/** The top-level fields of a payload that have a value (what an insert or update sends). */
export function fieldsOf(payload: TargetPayload): string[] {
  return Object.keys(payload)
    .filter((k) => !isEmpty(payload[k]))
    .sort();
}

/** The fields to clear: delivered before (`known`), empty now, and not kept by the scheme (`keep`). */
export function clearsFor(known: readonly string[] | null | undefined, payload: TargetPayload, keep: ReadonlySet<string>): string[] {
  if (!known) return [];
  return known.filter((f) => !keep.has(f) && isEmpty(payload[f]));
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null;
}
