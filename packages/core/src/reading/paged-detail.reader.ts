import { setMaxListeners } from 'node:events';

/** One page of a list call, as {@link PagedDetailOptions.fetchPage} hands it to the reader. */
export interface ListPage<Row> {
  /** The page's rows, in the system's order. */
  rows: Row[];
  /**
   * How many rows the whole read will list, when the system says so (give it on every page: a re-list
   * pass compares it between pages). The first page that gives it is passed to
   * {@link PagedDetailOptions.onTotal}; without `last`, the read stops once that many rows have been
   * listed.
   */
  total?: number | undefined;
  /**
   * Whether this is the last page. When absent, the read stops at an empty page, or once `total` rows
   * have been listed.
   */
  last?: boolean | undefined;
}

/** What the reader yields for each listed row, in list order. */
export interface PagedDetailItem<Row, Detail> {
  /** The row's key ({@link PagedDetailOptions.keyOf}). */
  key: string;
  /** The row as listed. */
  row: Row;
  /** The detail of the row; absent without `fetchDetail`, and when the row is `gone`. */
  detail?: Detail;
  /**
   * Set when `fetchDetail` answered `undefined`: the row was listed, then deleted before its detail was
   * asked for. A source yields it as a skip, not a failure.
   */
  gone?: true;
}

/** What one list pass of {@link readPagedDetail} saw, as {@link PagedDetailOptions.onPass} gets it. */
export interface PassReport {
  /** 1 for the read itself, 2 for the first re-list, … */
  pass: number;
  /** Distinct rows the pass listed (keys; a row without a key counts once per time it is listed). */
  listed: number;
  /** The system's count from the pass's first page; `undefined` when its pages give none. */
  total: number | undefined;
  /** Whether every page of the pass gave the same `total`. */
  totalSteady: boolean;
  /** Rows the pass yielded: keys not seen before, or seen at another version. All of them in pass 1. */
  fresh: number;
}

/** Warning code: rows were still moving when the last allowed list pass ended. */
export const READ_UNSETTLED = 'read.unsettled';
/** Warning code: list passes in which nothing moved listed another number of rows than the system counts. */
export const READ_TOTAL_MISMATCH = 'read.total_mismatch';

/**
 * How {@link readPagedDetail} lists and details a stream. It knows nothing of the system: envelopes,
 * query windows and record shapes stay in the functions given here.
 *
 * @example
 * // A REST API with `GET /customers?page=N` and `GET /customers/{id}`:
 * readPagedDetail({
 *   fetchPage: async (page, signal) => {
 *     const body = await http.get(`/customers?page=${page}&size=50`, { signal });
 *     return { rows: body.items, total: body.total };
 *   },
 *   keyOf: (row) => String(row.id),
 *   fetchDetail: (row, signal) => http.get(`/customers/${row.id}`, { signal, notFound: undefined }),
 *   window: 4,
 *   signal,
 * });
 */
export interface PagedDetailOptions<Row, Detail> {
  /**
   * Lists one page. Pages are asked for in order, one at a time; the next page is asked for as soon
   * as this one arrives (not when its rows have been yielded), so at most two pages are held. Each
   * re-list pass ({@link passes}) starts again at {@link firstPage}, and must list the same query.
   */
  fetchPage(page: number, signal: AbortSignal): Promise<ListPage<Row>>;
  /**
   * The number of the first page.
   * @default 1
   */
  firstPage?: number | undefined;
  /**
   * The row's key (its primary key as a string). A row without one (`undefined` or `''`) is left out
   * and passed to {@link onMissingKey}.
   * @example (row) => row.id === undefined ? undefined : String(row.id)
   */
  keyOf(row: Row): string | undefined;
  /**
   * Optional: the detail of one row. Resolves to `undefined` when the system says the row is gone
   * (deleted between the list and the detail call), which the reader yields as `gone`. A rejection
   * ends the read when that row's turn comes (retries belong to the transport).
   * Without it, rows are yielded as listed.
   */
  fetchDetail?: ((row: Row, signal: AbortSignal) => Promise<Detail | undefined>) | undefined;
  /**
   * How many detail calls may be in flight at once. The window spans pages: the next page's details
   * start in the slots the last of this page's free, and a slot is refilled as soon as any detail
   * settles, so one detail waiting out a retry does not hold the others back. Set it to the
   * connection's concurrency; the limiter still decides when each request goes.
   * @default 1
   */
  window?: number | undefined;
  /** Stops the read: requests in flight are cancelled and the iteration throws the signal's reason. */
  signal: AbortSignal;
  /**
   * Stop after this many rows: no page beyond them is listed and no detail beyond them asked for.
   * @default undefined (every row)
   */
  limit?: number | undefined;
  /**
   * At most this many list passes. Page-number paging over a list that changes while it is read skips
   * rows: a row deleted (or moved out of the query) on a page already read moves the next page's first
   * row onto it, and a system that documents no order may move any row anywhere. So after the read,
   * the list is paged again, and only rows whose key was not seen, or whose {@link versionOf} changed,
   * are detailed and yielded; passes go on until one is *settled*: it yields nothing, every page gives
   * the same `total`, and it lists exactly `total` distinct rows (nothing moved during it, so nothing was
   * skipped). When the last pass allowed is not settled, {@link onWarning} says so, `READ_UNSETTLED` or
   * `READ_TOTAL_MISMATCH` (two passes in a row in which nothing moved listed another number of rows than
   * `total`: the system's paging does not reach every row).
   *
   * A re-list pass costs list calls only (about one per 100 rows), plus a detail per fresh row. With
   * more than one pass, the reader keeps every key and version it saw: tens of bytes per row.
   * Ignored (one pass) with `limit`: a sample need not be complete.
   * @default 1 (no re-list: a system whose list cannot change while it is read)
   * @example 5 // the read, then up to four re-list passes
   */
  passes?: number | undefined;
  /**
   * The version of a row, e.g. its update time: a re-list pass yields a row again when its version
   * changed since it was yielded. Called with the detail too once it arrived (a detail read after an
   * edit is newer than its list row). Without it, re-list passes only look for keys not seen.
   * @example (row, detail) => String(detail?.update_time ?? row.update_time)
   */
  versionOf?: ((row: Row, detail?: Detail) => string | undefined) | undefined;
  /** Called after each list pass, with what it saw (for logs and tests). */
  onPass?: ((report: PassReport) => void) | undefined;
  /**
   * Called when the read ends unsettled ({@link passes}); the code is `READ_UNSETTLED` or
   * `READ_TOTAL_MISMATCH`. Pass the run's `ReadContext.warn`.
   */
  onWarning?: ((code: string, message: string) => void) | undefined;
  /**
   * Names the list in warnings.
   * @default "the list"
   * @example "小满 OKKI company/list"
   */
  label?: string | undefined;
  /** Called once, with the first `total` a page gives (at most `limit`). */
  onTotal?: ((total: number) => void) | undefined;
  /** Called for a row left out because it has no key (to warn about it). */
  onMissingKey?: ((row: Row) => void) | undefined;
}

/**
 * Reads a stream the way many REST APIs serve it: a paged list, then one detail call per row. Rows come
 * out in list order whatever order their details answer in; a detail that says the row is gone comes
 * out as `gone`. With {@link PagedDetailOptions.passes}, the list is paged again until a pass finds
 * nothing new, and rows a moving list made the first pass skip come out after it. Memory stays bounded
 * by about two pages, plus a key and version per row when re-listing.
 *
 * @example
 * for await (const item of readPagedDetail(options)) {
 *   if (item.gone) yield skip(item.key);
 *   else yield toRecord({ ...item.row, ...item.detail });
 * }
 */
export async function* readPagedDetail<Row, Detail = never>(options: PagedDetailOptions<Row, Detail>): AsyncGenerator<PagedDetailItem<Row, Detail>> {
  // One signal per read: stopping the read early (the consumer breaks out, or fails) cancels the
  // requests still in flight, and the caller's signal keeps no listener of ours afterwards.
  const inner = new AbortController();
  const forward = (): void => inner.abort(options.signal.reason);
  if (options.signal.aborted) forward();
  else options.signal.addEventListener('abort', forward, { once: true });
  // Every request waiting in a limiter or a retry listens to this signal: more than Node's default of
  // 10 listeners once the window is a few slots wide.
  setMaxListeners(8 + 4 * windowSize(options.window), inner.signal);
  try {
    const passes = options.limit === undefined ? Math.max(1, Math.floor(options.passes ?? 1)) : 1;
    if (passes === 1) {
      yield* pages(options, inner.signal);
      return;
    }
    const seen = new Map<string, string>();
    let previous: PassReport | undefined;
    for (let pass = 1; ; pass++) {
      const report = yield* pages(options, inner.signal, { pass, seen });
      options.onPass?.(report);
      const quiet = pass > 1 && report.fresh === 0 && report.totalSteady;
      if (quiet && (report.total === undefined || report.listed === report.total)) return;
      const stuck = quiet && previous !== undefined && previous.fresh === 0 && previous.totalSteady && previous.listed === report.listed && previous.total === report.total;
      if (stuck || pass === passes) {
        options.onWarning?.(...unsettled(options.label ?? 'the list', report, passes, stuck || quiet));
        return;
      }
      previous = report;
    }
  } finally {
    options.signal.removeEventListener('abort', forward);
    inner.abort();
  }
}

/** The warning for a read whose last pass was not settled: why, and what it means for the rows. */
function unsettled(label: string, last: PassReport, passes: number, quiet: boolean): [string, string] {
  const counted = last.total === undefined ? '' : ` while the system counted ${last.total}`;
  if (quiet && last.total !== undefined) {
    const gap = last.total - last.listed;
    return [
      READ_TOTAL_MISMATCH,
      `${label}: list passes in which nothing changed listed ${last.listed} distinct rows${counted}: ` +
        (gap > 0
          ? `its paging does not reach every row (a cap on pages or on the page size?), so up to ${gap} may not have been read. `
          : `it lists rows it does not count (or counts too few). `) +
        'Check the query and the page size; the run is not complete until the numbers agree.',
    ];
  }
  return [
    READ_UNSETTLED,
    `${label}: rows were still moving after ${passes} list passes (the last one found ${last.fresh} new or changed, ` +
      `listed ${last.listed}${counted}${last.totalSteady ? '' : ', and the count changed between its pages'}). ` +
      'A row that moved during every pass may not have been read: an incremental run reads it once it changes again; ' +
      'a full run when the system is quieter reads it for sure.',
  ];
}

function windowSize(window: number | undefined): number {
  return Math.max(1, Math.floor(window ?? 1));
}

interface Keyed<Row> {
  key: string;
  row: Row;
}

/** A re-listing read's memory: the pass, and every key seen with the version it was yielded at. */
interface Relist {
  pass: number;
  seen: Map<string, string>;
}

/**
 * One list pass: every page from `firstPage` on, rows detailed and yielded in list order. Without
 * `relist`, every row is yielded; with it, only rows whose key is not in `seen` or whose version
 * differs from the one there (each at most once per pass, however often the pass lists it).
 */
async function* pages<Row, Detail>(o: PagedDetailOptions<Row, Detail>, signal: AbortSignal, relist?: Relist): AsyncGenerator<PagedDetailItem<Row, Detail>, PassReport> {
  const { limit } = o;
  const fetchDetail = o.fetchDetail;
  const details = fetchDetail ? new DetailWindow<Row, Detail>(windowSize(o.window), (row) => fetchDetail(row, signal), signal) : undefined;
  const pass = relist?.pass ?? 1;
  const seen = relist?.seen;
  const versionOf = o.versionOf;
  /** The first page's total (what the pass reports), and the latest page's (where paging stops). */
  let total: number | undefined;
  let latestTotal: number | undefined;
  let totalSteady = true;
  /** Rows listed so far, and rows taken (keyed, within the limit). */
  let listed = 0;
  let taken = 0;
  /** Distinct keys listed in this pass (only kept when re-listing), and rows listed without a key. */
  const listedKeys = seen ? new Set<string>() : undefined;
  let keyless = 0;

  // Runs as soon as a page arrives, so that its details start in the slots the previous page frees
  // rather than after the window has drained.
  const arrive = (page: ListPage<Row>): { keyed: Keyed<Row>[]; last: boolean } => {
    if (page.total !== undefined) {
      latestTotal = page.total;
      if (total === undefined) {
        total = page.total;
        if (pass === 1) o.onTotal?.(limit !== undefined ? Math.min(limit, total) : total);
      } else if (page.total !== total) totalSteady = false;
    }
    listed += page.rows.length;
    const room = limit === undefined ? Infinity : limit - taken;
    const keyed: Keyed<Row>[] = [];
    for (const row of page.rows) {
      if (keyed.length >= room) break;
      const key = o.keyOf(row);
      if (key === undefined || key === '') {
        keyless++;
        // Said once per read, not once per pass.
        if (pass === 1) o.onMissingKey?.(row);
        continue;
      }
      if (seen && listedKeys) {
        listedKeys.add(key);
        const version = versionOf?.(row) ?? '';
        const before = seen.get(key);
        if (before !== undefined && (before === version || version === '')) continue;
        seen.set(key, version);
      }
      keyed.push({ key, row });
    }
    taken += keyed.length;
    details?.add(keyed);
    const last = page.last ?? (page.rows.length === 0 || (latestTotal !== undefined && listed >= latestTotal));
    return { keyed, last: last || (limit !== undefined && taken >= limit) };
  };

  let page = o.firstPage ?? 1;
  let pending = o.fetchPage(page, signal).then(arrive);
  // A read whose signal is already aborted throws below before awaiting it: its rejection is not unhandled.
  pending.catch(() => undefined);
  for (;;) {
    signal.throwIfAborted();
    const { keyed, last } = await pending;
    if (!last) {
      page++;
      pending = o.fetchPage(page, signal).then(arrive);
      // Settled later by the loop; a failure while this page is still being yielded must not be unhandled.
      pending.catch(() => undefined);
    }
    for (const { key, row } of keyed) {
      signal.throwIfAborted();
      const item: PagedDetailItem<Row, Detail> = details ? await details.take() : { key, row };
      signal.throwIfAborted();
      if (seen && versionOf && item.detail !== undefined) {
        // A detail read after an edit is newer than its list row: remember the version delivered.
        const version = versionOf(item.row, item.detail);
        if (version !== undefined && version !== '') seen.set(item.key, version);
      }
      yield item;
    }
    if (last) return { pass, listed: (listedKeys?.size ?? taken) + keyless, total, totalSteady, fresh: taken };
  }
}

interface Entry<Row, Detail> extends Keyed<Row> {
  result?: Promise<PagedDetailItem<Row, Detail>>;
}

/**
 * Details of listed rows, fetched through one sliding window that spans pages; items come out in list
 * order. A slot is refilled as soon as any detail settles, not only when the oldest one is taken: a
 * detail waiting out a retry's backoff must not hold the other slots idle (head-of-line blocking).
 * Finished details wait here (at most about a page) until their turn comes.
 */
class DetailWindow<Row, Detail> {
  private readonly queue: Entry<Row, Detail>[] = [];
  /** Entries at the head of `queue` whose detail has been asked for. */
  private started = 0;
  private running = 0;

  constructor(
    private readonly size: number,
    private readonly fetch: (row: Row) => Promise<Detail | undefined>,
    private readonly signal: AbortSignal,
  ) {}

  add(rows: Keyed<Row>[]): void {
    for (const row of rows) this.queue.push({ ...row });
    this.fill();
  }

  /** The next item in list order (its detail asked for now if the window had not reached it). */
  take(): Promise<PagedDetailItem<Row, Detail>> {
    const entry = this.queue.shift();
    if (!entry) throw new Error('DetailWindow.take: no row left');
    if (entry.result) this.started--;
    else this.start(entry);
    return entry.result!;
  }

  private fill(): void {
    while (this.started < this.queue.length && this.running < this.size && !this.signal.aborted) this.start(this.queue[this.started++]!);
  }

  private start(entry: Entry<Row, Detail>): void {
    this.running++;
    const { key, row } = entry;
    const p = this.fetch(row).then((detail): PagedDetailItem<Row, Detail> => (detail === undefined ? { key, row, gone: true } : { key, row, detail }));
    // Registered before anyone awaits `p`, so the slot is refilled before the item is taken; it also
    // keeps a failure of a detail not yet taken from being unhandled.
    p.then(this.settled, this.settled);
    entry.result = p;
  }

  private readonly settled = (): void => {
    this.running--;
    this.fill();
  };
}
