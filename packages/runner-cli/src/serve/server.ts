import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { AnyStateStore, Logger } from '@qiao/core';
import { diagnose } from '../lib/diagnose.js';
import { PAGE_HTML } from './page.js';
import type { SchemeService } from './scheme-service.js';

export interface ServeOptions {
  service: SchemeService;
  store: AnyStateStore;
  logger: Logger;
  host: string;
  port: number;
  /** Required on every API call when set (always set when bound beyond loopback). */
  token?: string | undefined;
}

/** Whether a host name or address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The run overview page and its JSON API: `GET /api/overview` (the data of `qiao overview --json` for
 * every scheme), `GET /api/schemes/:id`, `GET /api/events` (server-sent events: progress, runs, schemes),
 * `POST /api/schemes/:id/run`, `POST /api/schemes/:id/requeue`. Everything is served from here; the page
 * loads nothing from elsewhere.
 */
export async function startServer(o: ServeOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const clients = new Set<ServerResponse>();
  const send = (event: string, data: unknown) => {
    const chunk = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    res.setHeader('x-content-type-options', 'nosniff');
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:",
        'cache-control': 'no-store',
      });
      res.end(PAGE_HTML);
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
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const m = /^\/api\/schemes\/([^/]+)(?:\/(run|requeue|dead))?$/.exec(path);
    if (!m) return json(res, 404, { error: `no API at ${path}` });
    const id = decodeURIComponent(m[1]!);
    const entry = o.service.find(id);
    if (!entry) return json(res, 404, { error: `no valid scheme with id ${id} in the folder` });
    const action = m[2];
    if (req.method === 'GET' && !action) {
      return json(res, 200, (await o.service.status()).find((s) => s.id === id));
    }
    if (req.method === 'GET' && action === 'dead') {
      const items = (await o.store.list(id, { status: 'dead', limit: 200 })).map((i) => ({
        id: i.id,
        key: i.key,
        code: i.lastErrorCode,
        message: i.lastErrorMessage,
        diagnosis: i.lastErrorCode ? diagnose(i.lastErrorCode, i.lastErrorMessage ?? '') : undefined,
        attempts: i.attempts,
        updatedAt: i.updatedAt,
      }));
      return json(res, 200, items);
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
    if (action === 'requeue') {
      const code = typeof body.code === 'string' ? body.code : undefined;
      const ids = Array.isArray(body.ids) ? body.ids.filter((x): x is number => Number.isInteger(x)) : undefined;
      let requeued: number;
      if (code) {
        const matching = (await o.store.list(id, { status: 'dead', limit: 100_000 })).filter((i) => (i.lastErrorCode ?? 'unknown') === code).map((i) => i.id);
        requeued = matching.length ? await o.store.requeueDead(id, matching) : 0;
      } else requeued = await o.store.requeueDead(id, ids);
      const started = requeued > 0 && Boolean(o.service.run(entry.file, 'requeue', { drainOnly: true }));
      o.logger.info(`${id}: ${requeued} dead letter(s) re-queued from the page${started ? '; delivering now' : ''}`);
      return json(res, 202, { requeued, started });
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

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
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
