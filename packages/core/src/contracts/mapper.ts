import type { SourceRecord } from './source.js';
import type { TargetPayload } from './target.js';

/**
 * Turns a source record into the target operation's payload. The default is the declarative JSONata
 * mapper of the scheme's `mapping` block.
 *
 * @example
 * const upper: Mapper = {
 *   async map(record) {
 *     return { code: record.key, name: { zh_CN: String(record.data.name).toUpperCase() } };
 *   },
 * };
 */
export interface Mapper {
  /**
   * The payload for one record. Rejects with a `RecordError` (its `reason` becomes the dead letter's
   * code) for a record it cannot map; the run goes on with the next record.
   */
  map(record: SourceRecord): Promise<TargetPayload>;
}

