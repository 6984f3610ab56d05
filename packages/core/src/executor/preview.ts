import type { SourceRecord } from '../contracts/source.js';
import type { StateStore } from '../contracts/state-store.js';
import type { TargetPayload } from '../contracts/target.js';
import { isQiaoError, formatProblem } from '../errors/errors.js';
import type { LoadedScheme } from '../scheme/load-scheme.js';
import { fingerprint } from './fingerprint.js';
import type { WiredScheme } from './wire.js';

export interface PreviewRow {
  key: string;
  /** The source record as read. */
  source: Record<string, unknown>;
  /** The mapped payload; absent when mapping failed. */
  payload?: TargetPayload;
  /** `write`: would be written; `unchanged`: same as last delivered; `invalid`: fails mapping or the schema; `skip`: the source skipped it. */
  action: 'write' | 'unchanged' | 'invalid' | 'skip';
  /** Why it is invalid or skipped. */
  problems: string[];
}

/**
 * Reads and maps up to `limit` records without writing anything or moving any state: what a run would do.
 */
export async function previewScheme(
  loaded: LoadedScheme,
  wired: WiredScheme,
  options: { limit?: number; store?: StateStore; signal?: AbortSignal; onRow?: (row: PreviewRow) => void } = {},
): Promise<PreviewRow[]> {
  const rows: PreviewRow[] = [];
  const limit = options.limit;
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const cursor = loaded.source.incremental ? await options.store?.getCursor(loaded.scheme.id, loaded.source.stream.id) : undefined;
  const keep = (row: PreviewRow) => {
    options.onRow?.(row);
    if (limit !== undefined) rows.push(row);
  };
  let n = 0;
  for await (const rec of wired.source.read({
    params: loaded.source.params,
    detail: loaded.source.detail,
    cursor,
    lookbackMs: loaded.source.lookbackMs,
    limit,
    signal: controller.signal,
    logger: wired.sourceEndpoint.context.logger,
  }) as AsyncIterable<SourceRecord>) {
    n++;
    if (rec.skip) {
      keep({ key: rec.key, source: rec.data, action: 'skip', problems: [`${rec.skip.reason}: ${rec.skip.message}`] });
    } else {
      let payload: TargetPayload | undefined;
      try {
        payload = await loaded.mapper.map(rec);
      } catch (e) {
        keep({ key: rec.key, source: rec.data, action: 'invalid', problems: [isQiaoError(e) ? e.message : String(e)] });
      }
      if (payload) {
        const problems = loaded.checkPayload(payload).map(formatProblem);
        const unchanged =
          problems.length === 0 &&
          (await options.store?.delivered(loaded.scheme.id, [rec.key]))?.get(rec.key)?.fingerprint === fingerprint(payload);
        keep({ key: rec.key, source: rec.data, payload, action: problems.length ? 'invalid' : unchanged ? 'unchanged' : 'write', problems });
      }
    }
    if (limit !== undefined && n >= limit) {
      controller.abort();
      break;
    }
  }
  return rows;
}
