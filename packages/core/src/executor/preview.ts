import type { StateStore, RunReport } from '../contracts/state-store.js';
import type { TargetPayload } from '../contracts/target.js';
import type { LoadedScheme } from '../scheme/load-scheme.js';
import { startCursor } from './checkpoint.js';
import { mapRecord, markUnchanged, type Mapped } from './map.js';
import { readRecords } from './read.js';
import { ErrorGroups, type HintFor } from './report.js';
import type { WiredScheme } from './wire.js';

export interface PreviewRow {
  key: string;
  /** The source record as read. */
  source: Record<string, unknown>;
  /** The mapped payload; absent when mapping failed. */
  payload?: TargetPayload;
  /** The payload's fingerprint, for a payload that would be written or is unchanged. */
  fingerprint?: string;
  /** `write`: would be written; `unchanged`: same as last delivered; `invalid`: fails mapping or the schema; `skip`: the source skipped it. */
  action: 'write' | 'unchanged' | 'invalid' | 'skip';
  /** For `invalid` and `skip`: the reason a run gives (its dead-letter code, e.g. `payload.invalid`, or the skip reason). */
  reason?: string;
  /** For `invalid` and `skip`: the message a run gives with that reason. */
  message?: string;
  /** Why it is invalid or skipped. */
  problems: string[];
}

export interface PreviewOptions {
  /** Read at most this many records; without it, rows go to `onRow` only and are not kept. */
  limit?: number | undefined;
  /** The state, to mark records unchanged since their last delivery and to read from the cursor. */
  store?: StateStore | undefined;
  signal?: AbortSignal | undefined;
  onRow?: (row: PreviewRow) => void;
}

/**
 * Reads and maps up to `limit` records without writing anything or moving any state: what a run would
 * do. It goes through the run's own read and map stages.
 */
export async function previewScheme(loaded: LoadedScheme, wired: WiredScheme, options: PreviewOptions = {}): Promise<PreviewRow[]> {
  const rows: PreviewRow[] = [];
  const { limit, store } = options;
  const scheme = loaded.scheme.id;
  const mapping = { mapper: loaded.mapper, checkPayload: loaded.checkPayload };
  const delivered = store ? (keys: string[]) => store.delivered(scheme, keys) : undefined;
  await readRecords(
    {
      source: wired.source,
      params: loaded.source.params,
      detail: loaded.source.detail,
      cursor: await startCursor(store, scheme, loaded.source.stream.id, loaded.source.incremental),
      lookbackMs: loaded.source.lookbackMs,
      limit,
      signal: options.signal ?? new AbortController().signal,
      logger: wired.sourceEndpoint.context.logger,
    },
    async (rec) => {
      const [m] = await markUnchanged([await mapRecord(rec, mapping)], delivered);
      const row = previewRow(rec.data, m!);
      options.onRow?.(row);
      if (limit !== undefined) rows.push(row);
    },
  );
  return rows;
}

function previewRow(source: Record<string, unknown>, m: Mapped): PreviewRow {
  switch (m.kind) {
    case 'skip':
      return { key: m.key, source, action: 'skip', reason: m.reason, message: m.message, problems: [`${m.reason}: ${m.message}`] };
    case 'dead':
      return { key: m.key, source, ...(m.payload ? { payload: m.payload } : {}), action: 'invalid', reason: m.code, message: m.message, problems: m.problems };
    default:
      return { key: m.key, source, payload: m.payload, fingerprint: m.fingerprint, action: m.kind, problems: [] };
  }
}

/** The report of `qiao run --dry-run`: a run report, with what would be written. */
export interface DryRunReport extends RunReport {
  dryRun: true;
  /** Records a run would write now. */
  wouldWrite: number;
}

/**
 * What a run would do, as a run report, without writing anything or moving any state: the records go
 * through the run's read and map stages ({@link previewScheme}); dead letters are grouped by the reason
 * a run would give them.
 */
export async function dryRunScheme(
  loaded: LoadedScheme,
  wired: WiredScheme,
  options: Omit<PreviewOptions, 'onRow'> & { hintFor?: HintFor | undefined } = {},
): Promise<DryRunReport> {
  const started = Date.now();
  const counts = { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 };
  const { hintFor, ...preview } = options;
  const errors = new ErrorGroups(hintFor);
  const skips = new ErrorGroups(hintFor);
  let wouldWrite = 0;
  const cancelled = () => options.signal?.aborted === true;
  try {
    await previewScheme(loaded, wired, {
      ...preview,
      onRow: (row) => {
        counts.read++;
        if (row.action === 'write') wouldWrite++;
        else if (row.action === 'unchanged') counts.skipped++;
        else if (row.action === 'skip') {
          counts.skipped++;
          skips.add(row.reason ?? 'skip', row.message ?? '');
        } else {
          counts.failed++;
          errors.add(row.reason ?? 'invalid', row.message ?? row.problems[0] ?? '');
        }
      },
    });
  } catch (e) {
    // a read cut short by the user's stop: the dry run is cancelled, not failed
    if (!(cancelled() && (e === options.signal?.reason || (e as Error)?.name === 'AbortError'))) throw e;
  }
  const finished = Date.now();
  return {
    scheme: loaded.scheme.id,
    runId: 'dry-run',
    status: cancelled() ? 'cancelled' : counts.failed ? 'partial' : 'succeeded',
    counts,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    errors: errors.list(),
    skips: skips.list(),
    dryRun: true,
    wouldWrite,
  };
}
