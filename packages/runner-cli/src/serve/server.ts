import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { redact, type Logger, type QueueItem, type RunReport, type AnyStateStore } from '@qiao/core';
import { knownSecrets } from '../lib/base-command.js';
import { diagnose } from '../lib/diagnose.js';
import { PAGE_HTML, PAGE_SCRIPT } from './page.js';
import type { SchemeService, SchemeStatus } from './scheme-service.js';
import type { FleetStatus } from '../workers/fleet.js';

export interface ServeOptions {
  service: SchemeService;
  store: AnyStateStore;
  logger: Logger;
  host: string;
  port: number;
  /** Required on every API call when set (always set when bound beyond loopback). */
  token?: string | undefined;
  /** Under `--redis`: the fleet this process is one worker of (`GET /api/workers`). */
  fleet?: { status(): Promise<FleetStatus> } | undefined;
}

/** Whether a host name or address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** One row of the overview table (`GET /api/schemes`). */
export interface SchemeRow {
  id: string;
  name?: string | undefined;
  file: string;
  valid: boolean;
  error?: string | undefined;
  /** What the table shows: `invalid`, `running`, the last run's status, or `never-run`. */
  status: string;
  running: boolean;
  progress?: SchemeStatus['progress'];
  lastRun: Pick<RunReport, 'runId' | 'status' | 'startedAt' | 'finishedAt' | 'durationMs' | 'counts'> | null;
  schedule?: string | undefined;
  nextRunAt: string | null;
  successRate: number | null;
  recordSuccessRate: number | null;
  /** Items waiting to be written (pending and in flight). */
  queued: number;
  dead: number;
  cursor: string | null;
  throttling: SchemeStatus['throttling'];
  systems?: SchemeStatus['systems'];
  /** The last run's fatal error, if it stopped on one. */
  fatal?: RunReport['fatal'];
}

/** A dead letter as the page lists it: one customer (source record), its error and diagnosis. */
export interface DeadLetterRow {
  id: number;
  key: string;
  /** The record's code and name as mapped (e.g. the YonBIP customer code and 客户名称), when it has them. */
  code?: string | undefined;
  name?: string | undefined;
  error: string | null;
  message: string | null;
  diagnosis?: string | undefined;
  attempts: number;
  runId: string;
  updatedAt: string;
}

const CHART_JS = (() => {
  let text: string | undefined;
  return (): string => {
    // chart.js (a dependency of runner-cli) is served from node_modules: the page fetches nothing from elsewhere
    text ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
    return text;
  };
})();

/**
 * The page of `qiao serve` and its JSON API. Reads: `GET /api/schemes` (the overview table),
 * `GET /api/overview` (the data of `qiao overview --json` for every scheme), `GET /api/schemes/:id`,
 * `GET /api/schemes/:id/runs`, `GET /api/schemes/:id/dead` (dead letters per customer), `GET /api/runs/:runId`,
 * `GET /api/events` (server-sent events), `GET /api/workers` (under `--redis`: every worker and queue of the fleet). Actions (header `x-qiao-action: 1`): `POST /api/schemes/:id/run`,
 * `POST /api/schemes/:id/retry` (alias `requeue`). Everything is served from here, chart.js included.
 */
export async function startServer(o: ServeOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const clients = new Set<ServerResponse>();
  const send = (event: string, data: unknown) => {
    const chunk = redact(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, knownSecrets);
    for (const c of clients) c.write(chunk);
  };
  let lastProgress = 0;
  o.service.on('progress', (e: { scheme: string }) => {
    // The page needs a few updates a second, not one per record.
    const now = Date.now();
    if (now - lastProgress < 150) return;
    lastProgress = now;
    send('progress', e);
  });
  o.service.on('run', (e: unknown) => send('run', e));
  o.service.on('schemes', () => send('schemes', {}));
  const keepAlive = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);

  const authorised = (req: IncomingMessage, url: URL): boolean => {
    if (!o.token) return true;
    const header = req.headers.authorization?.replace(/^Bearer\s+/i, '');
    const given = header ?? url.searchParams.get('token') ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(o.token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      o.logger.error(`serve: ${req.method} ${req.url}: ${(e as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error; see the serve log' });
      else res.end();
    });
  });

  /** The run and its scheme, looked up in the recent history of every scheme of the folder and the state. */
  async function findRun(runId: string): Promise<RunReport | undefined> {
    const ids = new Set([...o.service.entries.values()].flatMap((e) => (e.loaded ? [e.loaded.scheme.id] : [])));
    for (const s of await o.store.schemes()) ids.add(s);
    for (const scheme of ids) {
      const hit = (await o.store.runs(scheme, 1000)).find((r) => r.runId === runId);
      if (hit) return hit;
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    res.setHeader('x-content-type-options', 'nosniff');
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; img-src 'self' data:",
        'cache-control': 'no-store',
      });
      res.end(PAGE_HTML);
      return;
    }
    if (req.method === 'GET' && path === '/assets/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_SCRIPT);
      return;
    }
    if (req.method === 'GET' && path === '/assets/chart.umd.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
      res.end(CHART_JS());
      return;
    }
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!path.startsWith('/api/')) return json(res, 404, { error: `no page at ${path}` });
    if (!authorised(req, url)) return json(res, 401, { error: 'a token is required: open the page as /#token=… or send Authorization: Bearer …' });

    if (req.method === 'GET' && path === '/api/overview') {
      return json(res, 200, { generatedAt: new Date().toISOString(), schemes: await o.service.status() });
    }
    if (req.method === 'GET' && path === '/api/workers') {
      if (!o.fleet) return json(res, 200, { enabled: false, workers: [], queues: [] });
      try {
        return json(res, 200, { enabled: true, generatedAt: new Date().toISOString(), ...(await o.fleet.status()) });
      } catch (e) {
        return json(res, 503, { enabled: true, error: `Redis cannot be reached: ${(e as Error).message}; the workers and their queues show again once it is back` });
      }
    }
    if (req.method === 'GET' && path === '/api/schemes') {
      return json(res, 200, { generatedAt: new Date().toISOString(), schemes: (await o.service.status()).map(row) });
    }
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const run = /^\/api\/runs\/([^/]+)$/.exec(path);
    if (run && req.method === 'GET') {
      const runId = decodeURIComponent(run[1]!);
      const report = await findRun(runId);
      if (!report) return json(res, 404, { error: `no run ${runId} in the state (see GET /api/schemes/<id>/runs)` });
      const dead = (await o.store.list(report.scheme, { status: 'dead', limit: 100_000 })).filter((i) => i.runId === runId);
      const file = o.service.find(report.scheme)?.file;
      return json(res, 200, { scheme: report.scheme, report: withFile(report, file), deadLetters: dead.map((i) => deadRow(i, file)) });
    }
    const m = /^\/api\/schemes\/([^/]+)(?:\/(run|retry|requeue|dead|runs))?$/.exec(path);
    if (!m) return json(res, 404, { error: `no API at ${path}` });
    const id = decodeURIComponent(m[1]!);
    const entry = o.service.find(id);
    if (!entry) return json(res, 404, { error: `no valid scheme with id ${id} in the folder` });
    const action = m[2];
    if (req.method === 'GET' && !action) {
      return json(res, 200, (await o.service.status()).find((s) => s.id === id));
    }
    if (req.method === 'GET' && action === 'runs') {
      const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit')) || 100));
      return json(res, 200, (await o.store.runs(id, limit)).map((r) => withFile(r, entry.file)));
    }
    if (req.method === 'GET' && action === 'dead') {
      return json(res, 200, (await o.store.list(id, { status: 'dead', limit: 1000 })).map((i) => deadRow(i, entry.file)));
    }
    if (req.method !== 'POST') return json(res, 405, { error: 'use POST for actions' });
    // A custom header cannot be sent cross-site without a CORS preflight, which this server never grants.
    if (req.headers['x-qiao-action'] !== '1') return json(res, 403, { error: 'actions need the header x-qiao-action: 1' });
    const body = await readJson(req);
    if (action === 'run') {
      const started = o.service.run(entry.file, 'manual');
      if (!started) return json(res, 409, { error: `${id} is already running` });
      return json(res, 202, { started: true });
    }
    if (action === 'retry' || action === 'requeue') {
      // The same as `qiao queue retry <scheme> --id … --run` (or `--all --run`): back to pending, then a drain run.
      const code = typeof body.code === 'string' ? body.code : undefined;
      const ids = Array.isArray(body.ids) ? body.ids.filter((x): x is number => Number.isInteger(x)) : undefined;
      if (Array.isArray(body.ids) && (!ids?.length || ids.length !== body.ids.length)) {
        return json(res, 400, { error: 'ids: expected an array of dead-letter ids (integers); leave it out to re-queue every dead letter' });
      }
      let requeued: number;
      if (code) {
        const matching = (await o.store.list(id, { status: 'dead', limit: 100_000 })).filter((i) => (i.lastErrorCode ?? 'unknown') === code).map((i) => i.id);
        requeued = matching.length ? await o.store.requeueDead(id, matching) : 0;
      } else requeued = await o.store.requeueDead(id, ids);
      if (ids?.length && requeued === 0) {
        return json(res, 404, { error: `no dead letter of ${id} with id ${ids.join(', ')}; see GET /api/schemes/${id}/dead for the ids` });
      }
      const started = requeued > 0 && Boolean(o.service.run(entry.file, 'requeue', { drainOnly: true }));
      o.logger.info(`${id}: ${requeued} dead letter(s) re-queued from the page${started ? '; delivering now' : ''}`);
      return json(res, requeued > 0 ? 202 : 200, { requeued, started });
    }
    return json(res, 404, { error: `no action ${String(action)}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(keepAlive);
        for (const c of clients) c.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function row(s: SchemeStatus): SchemeRow {
  const last = s.lastRun ?? null;
  return {
    id: s.id,
    name: s.name,
    file: s.file,
    valid: s.valid,
    error: s.error,
    status: !s.valid ? 'invalid' : s.running ? 'running' : (s.status ?? 'never-run'),
    running: s.running,
    progress: s.progress,
    lastRun: last && { runId: last.runId, status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, durationMs: last.durationMs, counts: last.counts },
    schedule: s.schedule,
    nextRunAt: s.nextRunAt ?? null,
    successRate: s.successRate ?? null,
    recordSuccessRate: s.recordSuccessRate ?? null,
    queued: s.queue ? s.queue.pending + s.queue['in-flight'] : 0,
    dead: s.queue?.dead ?? 0,
    cursor: s.cursor ?? null,
    throttling: s.throttling,
    systems: s.systems,
    fatal: last?.fatal,
  };
}

/** A text of a mapped payload's field: a string, or a localised name's first value (`{ zh_CN: … }`). */
function text(v: unknown): string | undefined {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (v && typeof v === 'object') {
    const first = Object.values(v as Record<string, unknown>).find((x) => typeof x === 'string' && x);
    return first as string | undefined;
  }
  return undefined;
}

/** A diagnosis with its `<scheme>` placeholder filled with the scheme's file, ready to paste. */
function withScheme(text: string | undefined, file: string | undefined): string | undefined {
  return text && file ? text.split('<scheme>').join(file) : text;
}

function withFile(r: RunReport, file: string | undefined): RunReport {
  if (!file) return r;
  const groups = (g: RunReport['errors'] | undefined) => g?.map((e) => ({ ...e, hint: withScheme(e.hint, file) }));
  return {
    ...r,
    errors: groups(r.errors) ?? [],
    ...(r.skips ? { skips: groups(r.skips) } : {}),
    ...(r.warnings ? { warnings: groups(r.warnings) } : {}),
    ...(r.fatal ? { fatal: { ...r.fatal, hint: withScheme(r.fatal.hint, file) } } : {}),
  };
}

function deadRow(i: QueueItem, file?: string): DeadLetterRow {
  // only the record's code and name are shown, not its payload
  const p = (i.payload ?? i.source ?? {}) as Record<string, unknown>;
  return {
    id: i.id,
    key: i.key,
    code: text(p.code),
    name: text(p.name) ?? text(p.shortname),
    error: i.lastErrorCode,
    message: i.lastErrorMessage,
    diagnosis: i.lastErrorCode ? withScheme(diagnose(i.lastErrorCode, i.lastErrorMessage ?? ''), file) : undefined,
    attempts: i.attempts,
    runId: i.runId,
    updatedAt: i.updatedAt,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  // a second guard: no value of a field marked x-secret (nor the token, nor webhook URLs) leaves the server
  res.end(redact(JSON.stringify(body) ?? 'null', knownSecrets));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 64 * 1024) break;
  }
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
