import { setMaxListeners } from 'node:events';

/** One page of a list call, as {@link PagedDetailOptions.fetchPage} hands it to the reader. */
export interface ListPage<Row> {
  /** The page's rows, in the system's order. */
  rows: Row[];
  /**
   * How many rows the whole read will list, when the system says so. The first page that gives it is
   * passed to {@link PagedDetailOptions.onTotal}; without `last`, the read stops once that many rows
   * have been listed.
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
   * as this one arrives (not when its rows have been yielded), so at most two pages are held.
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
  /** Called once, with the first `total` a page gives (at most `limit`). */
  onTotal?: ((total: number) => void) | undefined;
  /** Called for a row left out because it has no key (to warn about it). */
  onMissingKey?: ((row: Row) => void) | undefined;
}

/**
 * Reads a stream the way many REST APIs serve it: a paged list, then one detail call per row. Rows come
 * out in list order whatever order their details answer in; a detail that says the row is gone comes
 * out as `gone`. Memory stays bounded by about two pages, whatever the number of rows.
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
    yield* pages(options, inner.signal);
  } finally {
    options.signal.removeEventListener('abort', forward);
    inner.abort();
  }
}

function windowSize(window: number | undefined): number {
  return Math.max(1, Math.floor(window ?? 1));
}

interface Keyed<Row> {
  key: string;
  row: Row;
}

async function* pages<Row, Detail>(o: PagedDetailOptions<Row, Detail>, signal: AbortSignal): AsyncGenerator<PagedDetailItem<Row, Detail>> {
  const { limit } = o;
  const fetchDetail = o.fetchDetail;
  const details = fetchDetail ? new DetailWindow<Row, Detail>(windowSize(o.window), (row) => fetchDetail(row, signal), signal) : undefined;
  let total: number | undefined;
  /** Rows listed so far, and rows taken (keyed, within the limit). */
  let listed = 0;
  let taken = 0;

  // Runs as soon as a page arrives, so that its details start in the slots the previous page frees
  // rather than after the window has drained.
  const arrive = (page: ListPage<Row>): { keyed: Keyed<Row>[]; last: boolean } => {
    if (total === undefined && page.total !== undefined) {
      total = page.total;
      o.onTotal?.(limit !== undefined ? Math.min(limit, total) : total);
    }
    listed += page.rows.length;
    const room = limit === undefined ? Infinity : limit - taken;
    const keyed: Keyed<Row>[] = [];
    for (const row of page.rows) {
      if (keyed.length >= room) break;
      const key = o.keyOf(row);
      if (key === undefined || key === '') o.onMissingKey?.(row);
      else keyed.push({ key, row });
    }
    taken += keyed.length;
    details?.add(keyed);
    const last = page.last ?? (page.rows.length === 0 || (total !== undefined && listed >= total));
    return { keyed, last: last || (limit !== undefined && taken >= limit) };
  };

  let page = o.firstPage ?? 1;
  let pending = o.fetchPage(page, signal).then(arrive);
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
      yield item;
    }
    if (last) return;
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
