import { setMaxListeners } from 'node:events';
import { inject, injectable } from 'tsyringe';
import {
  ConnectionToken,
  SchemeError,
  type ConnectionContext,
  type ReadContext,
  type Source,
  type SourceRecord,
} from '@qiao/core';
import { formatChinaTime, parseChinaTime } from '../transport/china-time.js';
import { normalizeCompanyInPlace, toId } from '../transport/normalize.js';
import { OKKI_LABEL, OkkiClient, OkkiClientToken, type OkkiCompanyListQuery } from '../transport/okki-client.js';

/** Manifest id of the stream. */
export const COMPANY_STREAM = 'company';
/** Reason of a record skipped because its detail answered 404. */
export const DETAIL_NOT_FOUND = 'okki.detail_not_found';

/** The list query an incremental read sends: OKKI's update-time window, in China time. */
export interface IncrementalWindow {
  start_time: string;
  end_time: string;
  time_type: 1;
}

/**
 * The window of an incremental read: from the cursor minus the look-back to now, both as
 * `YYYY-MM-DD HH:MM:SS` in UTC+8 whatever the machine's timezone, on `update_time` (`time_type=1`).
 * @param cursor the last checkpointed `update_time` (`YYYY-MM-DD HH:MM:SS`, China time)
 */
export function incrementalWindow(cursor: string, lookbackMs: number, now: number = Date.now()): IncrementalWindow {
  const at = parseChinaTime(cursor);
  if (at === undefined) {
    throw new SchemeError(
      [
        {
          file: 'state okki/company',
          pointer: '/cursor',
          expected: 'an update_time cursor like "2024-05-01 08:30:00" (China time)',
          found: JSON.stringify(cursor),
          hint: 'run once with --full to read everything and store a fresh cursor',
        },
      ],
      { system: 'okki' },
    );
  }
  return { start_time: formatChinaTime(at - Math.max(0, lookbackMs)), end_time: formatChinaTime(now), time_type: 1 };
}

/**
 * 客户列表查询(更新列表): pages through `GET /v1/company/list` by page number, optionally merges each
 * row with `GET /v1/company/info` (detail wins), and yields normalised records keyed by `company_id`
 * with `update_time` as cursor.
 *
 * Paging stops at an empty or short page, or once `start_index * pageSize >= totalItem`. Details run
 * in parallel (at most the limiter's concurrency) and are yielded in list order; at most one page
 * and the next page's list call are held at a time.
 */
@injectable()
export class CompanyStream implements Source {
  constructor(
    @inject(OkkiClientToken) private readonly client: OkkiClient,
    @inject(ConnectionToken) private readonly connection: ConnectionContext,
  ) {}

  async *read(ctx: ReadContext): AsyncGenerator<SourceRecord> {
    // One signal per read: every request waiting in the limiter listens to it, which can be more
    // than Node's default of 10 listeners, and stopping the read early cancels what is still in flight.
    const inner = new AbortController();
    const forward = (): void => inner.abort(ctx.signal.reason);
    if (ctx.signal.aborted) forward();
    else ctx.signal.addEventListener('abort', forward, { once: true });
    setMaxListeners(8 + 4 * Math.max(1, this.connection.limiter.limits.concurrency), inner.signal);
    try {
      yield* this.pages({ ...ctx, signal: inner.signal });
    } finally {
      ctx.signal.removeEventListener('abort', forward);
      inner.abort();
    }
  }

  private async *pages(ctx: ReadContext): AsyncGenerator<SourceRecord> {
    const { signal, limit } = ctx;
    const query = listQuery(ctx);
    const requested = query.count;
    let page = query.start_index;
    /** Rows per page as the server serves them (it clamps what we ask for). */
    let pageSize = requested;
    let yielded = 0;
    let totalKnown = false;

    let pending = this.client.listCompanies({ ...query, start_index: page }, signal);
    for (;;) {
      signal.throwIfAborted();
      const res = await pending;
      const rows = res.list;
      if (!totalKnown) {
        totalKnown = true;
        if (rows.length > 0 && rows.length < requested && page * rows.length < res.totalItem) {
          pageSize = rows.length;
          ctx.logger.debug(`${OKKI_LABEL} company/list: asked for ${requested} per page, served ${pageSize}`);
        }
        const remaining = Math.max(0, res.totalItem - (page - 1) * pageSize);
        ctx.onTotal?.(limit !== undefined ? Math.min(limit, remaining) : remaining);
      }
      const last = rows.length === 0 || rows.length < pageSize || page * pageSize >= res.totalItem;
      const wanted = limit === undefined ? rows.length : Math.min(rows.length, limit - yielded);
      const more = !last && (limit === undefined || yielded + wanted < limit);
      if (more) {
        page++;
        pending = this.client.listCompanies({ ...query, start_index: page }, signal);
        // Settled later by the loop; a failure while this page is still being yielded must not be unhandled.
        pending.catch(() => undefined);
      }
      for await (const record of this.records(rows.slice(0, wanted), ctx)) {
        yield record;
        yielded++;
      }
      if (!more) return;
    }
  }

  /** The page's rows as records, details fetched ahead through a sliding window, in list order. */
  private async *records(rows: Record<string, unknown>[], ctx: ReadContext): AsyncGenerator<SourceRecord> {
    if (!ctx.detail) {
      for (const row of rows) {
        const record = toRecord(row, ctx);
        if (record) yield record;
      }
      return;
    }
    // A slot is refilled as soon as any detail settles, not only when the oldest one is yielded: a
    // detail waiting out a retry's backoff must not hold the other slots idle (head-of-line blocking).
    // Finished details wait in `results` (at most one page) until their turn comes.
    const window = Math.max(1, this.connection.limiter.limits.concurrency);
    const results: (Promise<SourceRecord | undefined> | undefined)[] = [];
    let next = 0;
    let running = 0;
    const fill = (): void => {
      while (next < rows.length && running < window && !ctx.signal.aborted) start();
    };
    const settled = (): void => {
      running--;
      fill();
    };
    const start = (): void => {
      const row = rows[next] as Record<string, unknown>;
      running++;
      const p = this.withDetail(row, ctx);
      // Registered before anyone awaits `p`, so the slot is refilled before the record is yielded;
      // it also keeps a failure of a detail not yet awaited from being unhandled.
      p.then(settled, settled);
      results[next++] = p;
    };
    fill();
    for (let i = 0; i < rows.length; i++) {
      ctx.signal.throwIfAborted();
      if (i >= next) start();
      const record = await results[i];
      results[i] = undefined;
      ctx.signal.throwIfAborted();
      if (record) yield record;
    }
  }

  private async withDetail(row: Record<string, unknown>, ctx: ReadContext): Promise<SourceRecord | undefined> {
    // the key straight from the row: the whole row is normalised once, with its detail
    const key = toId(row.company_id);
    if (typeof key !== 'string' || key === '') return toRecord(row, ctx); // left out, with a warning
    const detail = await this.client.companyInfo(key, ctx.signal);
    if (detail === undefined) {
      const base = toRecord(row, ctx)!;
      return {
        ...base,
        skip: {
          reason: DETAIL_NOT_FOUND,
          message: `company ${base.key} was listed but its detail answered 404: deleted in OKKI between list and detail`,
        },
      };
    }
    // Object.assign, not a spread: spreading one wide object over another of the same keys takes V8
    // ~20× longer (measured: 85 µs against 4 µs for an OKKI company)
    return toRecord(Object.assign({}, row, detail), ctx);
  }
}

function toRecord(raw: Record<string, unknown>, ctx: ReadContext): SourceRecord | undefined {
  // rows and details are parsed for this record alone: normalised where they are, not copied
  const data = normalizeCompanyInPlace(raw);
  const key = toId(data.company_id);
  if (typeof key !== 'string' || key === '') {
    ctx.logger.warn(`${OKKI_LABEL} company/list: row without company_id left out`, { name: data.name });
    return undefined;
  }
  const record: SourceRecord = { stream: COMPANY_STREAM, key, data };
  if (typeof data.update_time === 'string') record.cursor = data.update_time;
  return record;
}

/** The list query from the stream params (numbers or digit strings) and the incremental cursor. */
function listQuery(ctx: ReadContext): OkkiCompanyListQuery & { start_index: number; count: number } {
  const p = ctx.params;
  const int = (name: string, fallback: number): number => {
    const v = p[name];
    if (v === undefined || v === null || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new SchemeError(
        [{ file: 'params', pointer: `/${name}`, expected: 'a whole number >= 1', found: JSON.stringify(v) }],
        { system: 'okki' },
      );
    }
    return n;
  };
  const opt = (name: string): string | undefined => {
    const v = p[name];
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const query: OkkiCompanyListQuery & { start_index: number; count: number } = {
    start_index: int('start_index', 1),
    count: int('count', 20),
    removed: opt('removed'),
    all: opt('all'),
    group_id: opt('group_id'),
    start_time: opt('start_time'),
    end_time: opt('end_time'),
    time_type: opt('time_type'),
  };
  if (ctx.cursor) Object.assign(query, incrementalWindow(ctx.cursor, ctx.lookbackMs));
  return query;
}
