import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, YONBIP_SANDBOX_ORG, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';

/** The built `qiao` binary (what `npx qiao` runs): the suite tests dist, so run `npx tsc -b` first. */
export const BIN = fileURLToPath(new URL('../../../packages/runner-cli/bin/run.js', import.meta.url));
export const TEMPLATE = fileURLToPath(new URL('../../../packages/runner-cli/templates/okki-to-yonbip.scheme.yaml', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/**
 * Distinctive secrets: each holds characters that URL-encoding changes (so encoded leaks are found too)
 * and ends in a random-looking tail (so a piece of it, quoted by some parser, is found too).
 */
export const OKKI_SECRET = 'okki+Chaos/Secret=7f3a9c2e5d';
export const BIP_SECRET = 'bip+Chaos/Secret=e41d2b8f6a';

export interface QiaoResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  args: string[];
  ms: number;
}

type Env = Record<string, string | undefined>;

/** Starts the built `qiao` as a child process, with a clean environment plus `env`. */
export function startQiao(args: string[], options: { env?: Env; cwd?: string } = {}): { child: ChildProcess; done: Promise<QiaoResult> } {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', FORCE_COLOR: '0', NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<QiaoResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, args, ms: Date.now() - started })),
  );
  return { child, done };
}

export function qiao(args: string[], options: { env?: Env; cwd?: string } = {}): Promise<QiaoResult> {
  return startQiao(args, options).done;
}

export function tempDir(prefix = 'qiao-chaos-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `cond` every 10 ms; never a fixed sleep. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


/**
 * A clock for a simulator that runs `factor` times faster than this machine's, from now on: a run of
 * two minutes spans 40 minutes of OKKI's time at 20×, far more than the template's 10-minute look-back,
 * as a first load of 100k customers does at 10 requests/s (issue 14). `offsetMs` starts it apart
 * from this machine's clock (negative: behind).
 */
export function fastClock(factor: number, offsetMs = 0): () => number {
  const start = Date.now();
  return () => start + offsetMs + (Date.now() - start) * factor;
}

/** `QIAO_CHAOS_SEED` when set (to repeat a run), else a fresh one. */
export function chaosSeed(): number {
  const fromEnv = process.env.QIAO_CHAOS_SEED;
  if (fromEnv && /^\d+$/.test(fromEnv)) return Number(fromEnv) >>> 0;
  return Math.floor(Math.random() * 2 ** 31);
}

export function randInt(rnd: () => number, min: number, max: number): number {
  return min + Math.floor(rnd() * (max - min + 1));
}

/**
 * The variables the okki-to-yonbip template reads, pointing at the two simulators: YonBIP through the
 * data-center lookup (`lookup: true`, tenant id) or with gateway and token URLs given directly (so a
 * proxy can sit in between).
 */
export function templateEnv(
  okki: { url: string; credentials: { clientId: string; clientSecret: string } },
  bip: { gatewayUrl: string; tokenUrl: string; dataCenterUrl?: string; credentials: YonbipSandbox['credentials'] },
  options: { rps?: number; concurrency?: number; lookup?: boolean; api?: 'v2' | 'classic' } = {},
): Record<string, string> {
  const rps = String(options.rps ?? 2000);
  const concurrency = String(options.concurrency ?? 16);
  const yonbip: Record<string, string> =
    options.lookup && bip.dataCenterUrl
      ? { YONBIP_TENANT_ID: bip.credentials.tenantId, YONBIP_DATA_CENTER_URL: bip.dataCenterUrl }
      : { YONBIP_GATEWAY_URL: bip.gatewayUrl, YONBIP_TOKEN_URL: bip.tokenUrl };
  return {
    OKKI_BASE_URL: okki.url,
    OKKI_CLIENT_ID: okki.credentials.clientId,
    OKKI_CLIENT_SECRET: okki.credentials.clientSecret,
    ...yonbip,
    YONBIP_APP_KEY: bip.credentials.appKey,
    YONBIP_APP_SECRET: bip.credentials.appSecret,
    YONBIP_CREATE_ORG: YONBIP_SANDBOX_ORG,
    YONBIP_CUSTOMER_CLASS: YONBIP_SANDBOX_CUSTOMER_CLASS,
    OKKI_REQUESTS_PER_SECOND: rps,
    YONBIP_REQUESTS_PER_SECOND: rps,
    OKKI_CONCURRENCY: concurrency,
    YONBIP_CONCURRENCY: concurrency,
    // The chaos figures (kill points by merchant/save calls, faults per call) were written for the classic endpoint set.
    YONBIP_API: options.api ?? 'classic',
  };
}

// ---- checking the result against OKKI -------------------------------------------------------------

/** The BIP code the template maps an OKKI company to. */
export function codeOf(c: Record<string, unknown>): string {
  const serial = String(c.serial_id ?? '');
  return serial !== '' ? serial : `OKKI-${String(c.company_id)}`;
}

/** What the template's mapping makes of an OKKI company, for the fields it maps from OKKI. */
export function expectedFields(c: Record<string, unknown>): Record<string, string | undefined> {
  const contacts = (c.customers ?? []) as { name: string; email: string; main_customer_flag: number | string }[];
  const main = contacts.find((x) => Number(x.main_customer_flag) === 1) ?? contacts[0];
  const tel = (c.tel ?? ['', '']) as string[];
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    'name.zh_CN': String(c.name),
    'shortname.zh_CN': text(c.short_name),
    website: text(c.homepage),
    'address.zh_CN': text(c.address),
    contactName: text(main?.name),
    email: text(main?.email),
    contactTel: tel[1] ? (tel[0] ? `${tel[0]}-${tel[1]}` : tel[1]) : undefined,
  };
}

function fieldOf(m: Record<string, unknown>, path: string): string | undefined {
  let v: unknown = m;
  for (const part of path.split('.')) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[part];
  return v === undefined || v === null ? undefined : String(v);
}

export interface Comparison {
  /** Live OKKI customers. */
  customers: number;
  /** BIP records not stopped. */
  merchants: number;
  /** OKKI customers with no BIP record. */
  missing: string[];
  /** Codes inserted more than once. */
  duplicates: string[];
  /** BIP records whose code no OKKI customer, live or deleted, maps to. */
  extra: string[];
  /** Customers whose BIP record differs from OKKI's current data (first few, with the field). */
  stale: string[];
  staleCount: number;
  /** Live OKKI customers whose BIP record is stopped. */
  stoppedLive: string[];
  /** Customers deleted in OKKI whose BIP record is still active (see `onDelete`). */
  deletedActive: string[];
  /** Customers deleted in OKKI whose BIP record is stopped. */
  deletedStopped: number;
  /** Customers deleted in OKKI that never reached BIP. */
  deletedNeverWritten: number;
}

/**
 * Compares BIP's records with OKKI's current customers through the template's mapping: every live
 * customer once, field by field, and active. Customers deleted in OKKI are sorted by what BIP holds of
 * them (stopped, still active, never written); what that must be depends on the scheme's `onDelete`.
 */
export function compare(okki: OkkiSandbox, bip: YonbipSandbox): Comparison {
  const companies = okki.companies();
  const codes = new Set<string>();
  const missing: string[] = [];
  const stale: string[] = [];
  const stoppedLive: string[] = [];
  let staleCount = 0;
  for (const c of companies) {
    const code = codeOf(c);
    if (codes.has(code)) throw new Error(`test setup: two OKKI customers map to code ${code}`);
    codes.add(code);
    const m = bip.merchantByCode(code) as Record<string, unknown> | undefined;
    if (!m) {
      missing.push(code);
      continue;
    }
    if (m.stopStatus === true) stoppedLive.push(code);
    const diffs = Object.entries(expectedFields(c))
      .filter(([path, want]) => fieldOf(m, path) !== want)
      .map(([path, want]) => `${path}: BIP ${JSON.stringify(fieldOf(m, path))}, OKKI ${JSON.stringify(want)}`);
    if (!/^\d{19}$/.test(String(m.id))) diffs.push(`id ${String(m.id)} is not 19 digits`);
    if (diffs.length) {
      staleCount++;
      if (stale.length < 5) stale.push(`${code}: ${diffs.join('; ')}`);
    }
  }
  const deletedActive: string[] = [];
  let deletedStopped = 0;
  let deletedNeverWritten = 0;
  for (const c of okki.removedCompanies()) {
    const code = codeOf(c);
    if (codes.has(code)) throw new Error(`test setup: a deleted and a live OKKI customer map to code ${code}`);
    codes.add(code);
    const m = bip.merchantByCode(code) as Record<string, unknown> | undefined;
    if (!m) deletedNeverWritten++;
    else if (m.stopStatus === true) deletedStopped++;
    else deletedActive.push(code);
  }
  const merchants = bip.merchants();
  return {
    customers: companies.length,
    merchants: merchants.filter((m) => (m as { stopStatus?: boolean }).stopStatus !== true).length,
    missing,
    duplicates: [...bip.insertsByCode()].filter(([, n]) => n !== 1).map(([code, n]) => `${code}×${n}`),
    extra: merchants.filter((m) => !codes.has(m.code)).map((m) => m.code),
    stale,
    staleCount,
    stoppedLive,
    deletedActive,
    deletedStopped,
    deletedNeverWritten,
  };
}

/**
 * Changes `count` random live customers (new address, some renamed, new phone or short name) and adds
 * `adds` new ones, as users of OKKI would between two syncs. Every new value is unique, so no name
 * clashes in BIP (客户名称重复) can follow.
 */
export function changeCustomers(okki: OkkiSandbox, rnd: () => number, round: string, count: number, adds: number): void {
  const live = okki.companies();
  const picked = new Set<number>();
  while (picked.size < Math.min(count, live.length)) picked.add(Math.floor(rnd() * live.length));
  let i = 0;
  for (const index of picked) {
    const c = live[index]!;
    const id = String(c.company_id);
    const changes: Record<string, unknown> = { address: `${String(c.address || '未知地址')}（${round}迁址${i}）` };
    if (i % 3 === 0) changes.name = `${String(c.name)}（${round}更名${id}）`;
    if (i % 4 === 1) changes.tel = ['021', `6${String(1000000 + Math.floor(rnd() * 8999999))}`];
    if (i % 5 === 2) changes.short_name = `简称${round}${id}`;
    if (i % 6 === 3) changes.homepage = `https://www.${round.toLowerCase()}-${id}.example.cn`;
    okki.updateCompany(id, changes);
    i++;
  }
  for (let k = 0; k < adds; k++) okki.addCompany();
}

// ---- what a user sees ------------------------------------------------------------------------------

/** Lines that look like a JavaScript stack frame. */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at\s/.test(l));
}

// ---- secrets ---------------------------------------------------------------------------------------

/**
 * The forms a secret can take in text: raw, URL-encoded (once, twice, form-style), JSON-escaped, Base64,
 * and every 7-character piece of its tail after the last `=`.
 */
export function secretForms(secret: string): string[] {
  const tail = secret.slice(secret.lastIndexOf('=') + 1);
  const pieces = tail.length > 7 ? Array.from({ length: tail.length - 6 }, (_, i) => tail.slice(i, i + 7)) : [];
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(encodeURIComponent(secret)),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(secret).toString('base64'),
    ...pieces,
  ]);
  return [...forms];
}

/** Every file under `dir` (state.db, its -wal and -shm, anything else), recursively. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/**
 * Where a secret appears: in the given texts (stdout, stderr, reports) or in the bytes of any file under
 * the given directories (SQLite database, WAL, logs). Returns a list of "secret form in place" findings.
 */
export function findSecrets(secrets: string[], where: { texts?: Record<string, string>; dirs?: string[] }): string[] {
  const found: string[] = [];
  const needles = secrets.flatMap((s) => secretForms(s).map((form) => ({ form, bytes: Buffer.from(form, 'utf8'), utf16: Buffer.from(form, 'utf16le') })));
  for (const [name, text] of Object.entries(where.texts ?? {})) {
    for (const n of needles) if (text.includes(n.form)) found.push(`${JSON.stringify(n.form)} in ${name}`);
  }
  for (const dir of where.dirs ?? []) {
    const files = filesUnder(dir);
    if (files.length === 0) continue;
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const n of needles) {
        if (bytes.includes(n.bytes) || bytes.includes(n.utf16)) found.push(`${JSON.stringify(n.form)} in ${file}`);
      }
    }
  }
  return found;
}

/** The files a state directory holds after a run (at least state.db), to prove the scan looked at something. */
export function stateFiles(dir: string): string[] {
  return filesUnder(dir).map((f) => f.slice(dir.length + 1)).sort();
}

// ---- a proxy that spoils some answers --------------------------------------------------------------

export interface MangleRule {
  /** Which requests may be spoiled. */
  match: (method: string, path: string, query: URLSearchParams) => boolean;
  /** Share of matching requests whose answer is replaced. */
  rate: number;
  /** The answers to choose from (status, content type, body). */
  answers: { status: number; type: string; body: string }[];
}

export interface MangleProxy {
  url: string;
  /** Answers replaced so far. */
  spoiled: number;
  forwarded: number;
  stop(): Promise<void>;
}

/** Whether an answer is a success envelope (`code` 200, as a number or a string). */
function succeeded(body: Buffer): boolean {
  try {
    return String((JSON.parse(body.toString('utf8')) as { code?: unknown }).code) === '200';
  } catch {
    return false;
  }
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a simulator. Every request is forwarded; for a share of the
 * matching requests that succeeded (HTTP 200, code 200: the system did what was asked), the answer is
 * replaced by a wrong envelope. Refusals (rate limit, expired token, 999) are never turned into
 * successes: that would be a system lying, not a malformed answer.
 */
export async function startMangleProxy(target: string, rules: MangleRule[], rnd: () => number): Promise<MangleProxy> {
  const upstream = new URL(target);
  const proxy: MangleProxy = { url: '', spoiled: 0, forwarded: 0, stop: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const path = url.pathname;
      const fwd = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            proxy.forwarded++;
            const rule = rules.find((r) => r.match(req.method ?? 'GET', path, url.searchParams));
            if (rule && up.statusCode === 200 && succeeded(Buffer.concat(parts)) && rnd() < rule.rate) {
              proxy.spoiled++;
              const a = rule.answers[Math.floor(rnd() * rule.answers.length)]!;
              const b = Buffer.from(a.body, 'utf8');
              res.writeHead(a.status, { 'content-type': a.type, 'content-length': String(b.length) });
              res.end(b);
              return;
            }
            const b = Buffer.concat(parts);
            const headers = { ...up.headers, 'content-length': String(b.length) };
            delete headers['transfer-encoding'];
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(b);
          });
          up.on('error', () => res.destroy());
        },
      );
      fwd.on('error', () => res.destroy());
      fwd.end(body);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
