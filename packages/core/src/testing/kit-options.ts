/**
 * What the behavioural test kit (`connectorKit`) needs to test a connector against a running system,
 * usually the connector's own simulator. A connector's `testing.setup()` returns it, or a test passes it.
 */
export interface KitOptions {
  /** A connection block that works against the system under test (defaults are applied as in a scheme). */
  connection: Record<string, unknown>;
  /**
   * A connection block the system must refuse, for the check's negative case. `false` when the system
   * cannot refuse anything (an in-memory store).
   * @default the good connection with every `x-secret` field replaced by a wrong value
   */
  badConnection?: Record<string, unknown> | false | undefined;
  /** Per stream id: how to read it. A stream left out is read with its params' defaults. `false` skips it. */
  streams?: Record<string, StreamKitOptions | false> | undefined;
  /**
   * Per operation id: how to make a payload for a record that does not exist yet. An operation left out
   * is not written (the kit cannot guess a valid payload); the kit says so as a skipped check.
   */
  operations?: Record<string, OperationKitOptions | false> | undefined;
  /** Milliseconds each check may take. @default 60000 */
  timeoutMs?: number | undefined;
}

export interface StreamKitOptions {
  /** Stream params (validated and completed with defaults like a scheme's). @default {} */
  params?: Record<string, unknown> | undefined;
  /** Make the per-record detail call while reading. @default false */
  detail?: boolean | undefined;
  /**
   * A cursor later than every record, in the stream's cursor format.
   * @default derived from a cursor the stream yielded, its year replaced by 2999
   */
  futureCursor?: string | undefined;
  /** Records a read must yield at least. @default 2 (so `limit: 1` can be told apart) */
  minRecords?: number | undefined;
}

export interface OperationKitOptions {
  /**
   * A payload for a record the system does not hold yet; `unique` differs on every call and every run,
   * so put it into the record's key (code, email…).
   * @example payload: (unique) => ({ code: `KIT-${unique}`, name: `Kit ${unique}` })
   */
  payload(unique: string): Record<string, unknown>;
}
