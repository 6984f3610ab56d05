import type { InjectionToken } from 'tsyringe';
import type { SourceRecord } from './source.js';
import type { TargetPayload } from './target.js';

/**
 * Turns a source record into the target operation's payload. Throws (or rejects with) `RecordError`
 * for a record it cannot map. The default is the declarative JSONata mapper of the scheme's `mapping`
 * block. A mapper may answer synchronously: the executor then maps a batch without a promise per record.
 */
export interface Mapper {
  map(record: SourceRecord): TargetPayload | Promise<TargetPayload>;
  /**
   * Optional: the top-level record fields `map` can read (undefined: any). The executor passes it to
   * the source (ReadContext.fields), which may then leave the other fields as the system sent them.
   */
  readonly reads?: ReadonlySet<string> | undefined;
}

export const MapperToken: InjectionToken<Mapper> = Symbol.for('qiao.Mapper');
