import jsonata from 'jsonata';
import { JSONPath } from 'jsonpath-plus';
import {
  InputError,
  readPagedDetail,
  type ConnectionContext,
  type DeletedRecord,
  type HttpResponse,
  type ListPage,
  type ReadContext,
  type Source,
  type SourceRecord,
} from '@qiao/core';
import { compilePath, type CompiledPath } from '../json-path.js';
import type { RestStream } from '../manifest/rest-manifest-types.js';
import { compileNormalizer, toId, type Normalizer } from '../normalize.js';
import { fill, fillMap, type TemplateScope } from '../template.js';
import { formatTime, offsetOf, parseTime, type TimeFormat } from '../time.js';
import type { RestClient } from '../transport/rest-client.js';

type Row = Record<string, unknown>;
type Query = Record<string, string | number | boolean>;

/** Reason of a record skipped because its detail call said not found (deleted between list and detail). */
export const DETAIL_GONE = 'detail_not_found';

/** The window of one read: the query, and whether the read ends it itself (and so may checkpoint). */
interface Window {
  query: Query;
  closes: boolean;
  /** The window's end, once known (the server's clock from the first answer, or this machine's). */
  end?: string | undefined;
}

/**
 * A stream declared in a REST manifest, read with core's {@link readPagedDetail}: its pagination kind
 * (page number with a total, offset, cursor token, Link header), the optional detail call per row
 * merged as declared, incremental windows (start from the cursor minus the look-back, end at the
 * server's clock when the manifest names it, else at this machine's), re-list passes, then field
 * normalisation and the optional JSONata transform.
 */
export class RestStreamSource implements Source {
  private readonly records: CompiledPath;
  private readonly total: CompiledPath | undefined;
  private readonly next: CompiledPath | undefined;
  private readonly detailData: CompiledPath;
  private readonly serverClock: CompiledPath | undefined;
  private readonly normalize: Normalizer;
  private readonly transform: jsonata.Expression | undefined;
  private readonly time: TimeFormat | undefined;
  private readonly listName: string;
  private readonly detailName: string;

  constructor(
    private readonly client: RestClient,
    private readonly stream: RestStream,
    private readonly connection: ConnectionContext,
  ) {
    const p = stream.pagination;
    this.records = compilePath(stream.records);
    this.total = (p.kind === 'page_number' || p.kind === 'offset') && p.total ? compilePath(p.total) : undefined;
    this.next = p.kind === 'cursor' ? compilePath(p.next) : undefined;
    this.detailData = compilePath(stream.detail?.data ?? '$');
    this.serverClock = stream.incremental?.serverClock ? compilePath(stream.incremental.serverClock) : undefined;
    this.normalize = compileNormalizer(stream.normalize);
    this.transform = stream.transform ? jsonata(stream.transform) : undefined;
    this.time = stream.incremental ? { format: stream.incremental.format, offsetMs: offsetOf(stream.incremental.timezone) } : undefined;
    this.listName = `${stream.id}/list`;
    this.detailName = `${stream.id}/detail`;
    const head = (JSONPath.toPathArray(stream.records) as string[])[1];
    client.expect(this.listName, (json) => {
      if (this.rowsOf(json) !== undefined) return undefined;
      // an empty list may come as `data: []` or `data: null`, or with a total of 0
      const top = head === undefined ? undefined : (json as Record<string, unknown> | undefined)?.[head];
      if ((Array.isArray(top) && top.length === 0) || top === null || Number(this.total?.first(json)) === 0) return undefined;
      return `has nothing at ${stream.records}`;
    });
    if (stream.detail) {
      client.expect(this.detailName, (json) => {
        const d = this.detailData.first(json);
        return d !== null && typeof d === 'object' && !Array.isArray(d) ? undefined : `has no object at ${stream.detail?.data ?? '$'}`;
      });
    }
  }

  async *read(ctx: ReadContext): AsyncGenerator<SourceRecord> {
    const window = this.window(ctx);
    const label = `${this.client.label} ${this.stream.id}`;
    const warn = ctx.warn ?? ((code: string, message: string) => ctx.logger.warn(message, { code }));
    const cursorField = this.stream.incremental?.cursorField;
    const detail = this.stream.detail;
    const items = readPagedDetail<Row, Row>({
      fetchPage: this.pager(window, ctx),
      firstPage: this.firstPage(ctx),
      keyOf: (row) => this.keyOf(row),
      fetchDetail: ctx.detail && detail ? this.detailFetcher(ctx) : undefined,
      window: Math.max(1, this.connection.limiter.limits.concurrency),
      signal: ctx.signal,
      limit: ctx.limit,
      passes: this.stream.passes ?? 1,
      versionOf: cursorField ? (row, d) => wallClock(d?.[cursorField] ?? row[cursorField]) : undefined,
      label,
      onWarning: warn,
      onTotal: ctx.onTotal,
      onMissingKey: () => ctx.logger.warn(`${label}: row without ${this.stream.primaryKey} left out`),
    });
    for await (const item of items) {
      if (item.gone) {
        const base = await this.toRecord(item.row, item.key);
        yield {
          ...base,
          skip: { reason: `${this.client.system}.${DETAIL_GONE}`, message: `${this.stream.id} ${item.key} was listed but its detail said not found: deleted between list and detail` },
        };
      } else if (item.detail) {
        const merge = detail?.merge ?? 'detail_wins';
        const merged =
          merge === 'detail_wins' ? Object.assign({}, item.row, item.detail) : merge === 'list_wins' ? Object.assign({}, item.detail, item.row) : { ...item.row, [detail!.field!]: item.detail };
        yield await this.toRecord(merged, item.key);
      } else yield await this.toRecord(item.row, item.key);
    }
    if (window.closes && window.end !== undefined && ctx.limit === undefined) ctx.checkpoint?.(window.end);
  }

  /** The rows the list lists as deleted in the same window (`deletions.query` added, no detail calls). */
  async *readDeleted(ctx: ReadContext): AsyncGenerator<DeletedRecord> {
    const deletions = this.stream.deletions;
    if (!deletions) return;
    const window = this.window(ctx);
    Object.assign(window.query, fillMap(deletions.query, this.scope(ctx)));
    const items = readPagedDetail<Row, never>({
      fetchPage: this.pager(window, ctx),
      firstPage: this.firstPage(ctx),
      keyOf: (row) => this.keyOf(row),
      window: 1,
      signal: ctx.signal,
      passes: this.stream.passes ?? 1,
      label: `${this.client.label} ${this.stream.id} (${deletions.label})`,
      onWarning: ctx.warn ?? ((code: string, message: string) => ctx.logger.warn(message, { code })),
    });
    for await (const item of items) {
      const { data, cursor } = await this.toRecord(item.row, item.key);
      yield { stream: this.stream.id, key: item.key, deletedAt: cursor, data };
    }
  }

  private scope(ctx: ReadContext): TemplateScope {
    return { ...this.client.templateScope, params: ctx.params };
  }

  private keyOf(row: Row): string | undefined {
    const key = toId(row[this.stream.primaryKey]);
    return typeof key === 'string' && key !== '' ? key : undefined;
  }

  private firstPage(ctx: ReadContext): number {
    const p = this.stream.pagination;
    if (p.kind !== 'page_number') return 1;
    const n = Number(fill(p.start ?? 1, this.scope(ctx)) ?? 1);
    if (!Number.isInteger(n)) {
      throw new InputError([{ file: 'params', pointer: '/', expected: `a whole first page number for ${this.stream.id}`, found: JSON.stringify(fill(p.start ?? 1, this.scope(ctx))) }], { system: this.client.system });
    }
    return n;
  }

  /** The list query of a read: the declared query, then the incremental window when there is one. */
  private window(ctx: ReadContext): Window {
    const query = fillMap(this.stream.request.query, this.scope(ctx));
    const inc = this.stream.incremental;
    const w: Window = { query, closes: false };
    if (!inc || !this.time) return w;
    const endParam = inc.end?.param;
    if (ctx.cursor) {
      const at = parseTime(ctx.cursor, this.time);
      if (at === undefined) {
        throw new InputError(
          [
            {
              file: `state ${this.client.system}/${this.stream.id}`,
              pointer: '/cursor',
              expected: `a ${inc.cursorField} cursor in the format ${inc.format}`,
              found: JSON.stringify(ctx.cursor),
              hint: 'run once with --full to read everything and store a fresh cursor',
            },
          ],
          { system: this.client.system },
        );
      }
      query[inc.start.param] = formatTime(at - Math.max(0, ctx.lookbackMs), this.time);
      if (endParam) delete query[endParam];
      Object.assign(query, fillMap(inc.params, this.scope(ctx)));
      w.closes = true;
    } else if (inc.fullFrom !== undefined && (endParam === undefined || query[endParam] === undefined)) {
      // A full read is a window too, from the beginning to the server's clock: records added or edited
      // during it leave it rather than push others past a page boundary, and belong to the next run.
      query[inc.start.param] ??= inc.fullFrom;
      const extra = fillMap(inc.params, this.scope(ctx));
      for (const [k, v] of Object.entries(extra)) query[k] ??= v;
      w.closes = true;
    }
    if (w.closes && !this.serverClock) w.end = formatTime(Date.now(), this.time);
    return w;
  }

  /** One page of the list, as the declared pagination kind asks for it. */
  private pager(w: Window, ctx: ReadContext): (page: number, signal: AbortSignal) => Promise<ListPage<Row>> {
    const p = this.stream.pagination;
    const scope = this.scope(ctx);
    const size = (p.kind === 'page_number' || p.kind === 'offset') && p.size ? { param: p.size.param, value: Number(fill(p.size.value, scope)) } : undefined;
    const endParam = this.stream.incremental?.end?.param;
    const first = this.firstPage(ctx);
    let pageSize = size?.value ?? 0;
    let sized = false;
    let token: string | undefined;
    let nextUrl: string | undefined;
    return async (page, signal) => {
      const query: Query = { ...w.query };
      if (w.closes && w.end !== undefined && endParam) query[endParam] = w.end;
      let url = this.client.url(this.stream.request.path, scope);
      if (page === first) {
        token = undefined;
        nextUrl = undefined;
      }
      if (size) query[size.param] = size.value;
      if (p.kind === 'page_number') query[p.param] = page;
      else if (p.kind === 'offset') query[p.param] = (page - 1) * pageSize;
      else if (p.kind === 'cursor' && token !== undefined) query[p.param] = token;
      const viaLink = p.kind === 'link_header' && nextUrl !== undefined;
      if (viaLink) url = nextUrl!;
      const res = await this.client.request(
        { method: this.stream.request.method ?? 'GET', url, query: viaLink ? undefined : query, headers: fillStrings(this.stream.request.headers, scope), name: this.listName },
        signal,
      );
      if (w.closes && w.end === undefined) w.end = this.clockOf(res, ctx);
      const rows = this.rowsOf(res.json) ?? [];
      switch (p.kind) {
        case 'none':
          return { rows, last: true };
        case 'page_number':
        case 'offset': {
          const totalAll = this.total ? Number(this.total.first(res.json)) : undefined;
          const known = totalAll !== undefined && Number.isFinite(totalAll) ? totalAll : undefined;
          if (!sized && size) {
            sized = true;
            // the server may serve fewer rows than asked for: the first full page tells its size
            if (rows.length > 0 && rows.length < size.value && (known === undefined || (p.kind === 'page_number' ? page : 1) * rows.length < known)) {
              pageSize = rows.length;
              ctx.logger.debug(`${this.client.label} ${this.listName}: asked for ${size.value} per page, served ${pageSize}`);
            }
          }
          if (p.kind === 'page_number') {
            const total = known === undefined ? undefined : Math.max(0, known - (first - 1) * pageSize);
            const last = rows.length === 0 || (pageSize > 0 && rows.length < pageSize) || (known !== undefined && pageSize > 0 && page * pageSize >= known);
            return { rows, total, last };
          }
          const offset = (page - 1) * pageSize;
          return { rows, total: known, last: rows.length === 0 || rows.length < pageSize || (known !== undefined && offset + rows.length >= known) };
        }
        case 'cursor': {
          const n = this.next!.first(res.json);
          token = n === undefined || n === null || n === '' || n === false ? undefined : String(n);
          return { rows, last: token === undefined || rows.length === 0 };
        }
        case 'link_header': {
          nextUrl = linkOf(res, p.rel ?? 'next', url);
          return { rows, last: nextUrl === undefined || rows.length === 0 };
        }
      }
    };
  }

  private rowsOf(json: unknown): Row[] | undefined {
    const found = this.records.all(json);
    if (found.length === 0) return undefined;
    if (found.length === 1 && Array.isArray(found[0])) return found[0] as Row[];
    return found.filter((r): r is Row => r !== null && typeof r === 'object' && !Array.isArray(r));
  }

  /** The window's end: the server's clock in the first answer (read in the cursor format), else this machine's. */
  private clockOf(res: HttpResponse, ctx: ReadContext): string {
    const time = this.time!;
    const raw = this.serverClock?.first(res.json);
    const at = typeof raw === 'string' ? parseTime(raw, time) : typeof raw === 'number' ? raw : undefined;
    if (at === undefined) {
      ctx.logger.warn(`${this.client.label} ${this.listName}: the answer has no readable ${this.stream.incremental?.serverClock} (got ${JSON.stringify(raw)}); the window ends at this machine's clock`);
      return formatTime(Date.now(), time);
    }
    return formatTime(at, time);
  }

  /** The detail call of a read: its URL built once when the path names no field of the row. */
  private detailFetcher(ctx: ReadContext): (row: Row, signal: AbortSignal) => Promise<Row | undefined> {
    const d = this.stream.detail!;
    const base = this.scope(ctx);
    const fixedUrl = d.path.includes('{{') ? undefined : this.client.url(d.path, base);
    return async (row, signal) => {
      const scope = { ...base, key: this.keyOf(row), record: row };
      const url = fixedUrl ?? this.client.url(d.path, scope);
      const res = await this.client.requestOrNotFound({ method: 'GET', url, query: fillMap(d.query, scope), name: this.detailName }, signal);
      return res === undefined ? undefined : (this.detailData.first(res.json) as Row);
    };
  }

  private async toRecord(raw: Row, key: string): Promise<SourceRecord> {
    let data = this.normalize(raw);
    if (this.transform) {
      const out = (await this.transform.evaluate(data)) as unknown;
      if (out !== null && typeof out === 'object' && !Array.isArray(out)) data = out as Row;
    }
    const record: SourceRecord = { stream: this.stream.id, key, data };
    const field = this.stream.incremental?.cursorField;
    if (field && typeof data[field] === 'string') record.cursor = data[field] as string;
    return record;
  }
}

function fillStrings(map: Record<string, string> | undefined, scope: TemplateScope): Record<string, string> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(fillMap(map, scope)).map(([k, v]) => [k, String(v)]));
}

function wallClock(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The URL of the `rel` link of a `Link` header (RFC 8288), resolved against the request's URL. */
export function linkOf(res: HttpResponse, rel: string, base: string): string | undefined {
  const header = res.headers.link;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return undefined;
  for (const part of text.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m) continue;
    const rels = /;\s*rel="?([^";]+)"?/i.exec(m[2]!)?.[1]?.split(/\s+/) ?? [];
    if (rels.includes(rel)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}
