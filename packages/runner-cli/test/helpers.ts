import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

export interface QiaoResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built `qiao` binary (the one `npx qiao` runs) as a child process. */
export function startQiao(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): { child: ChildProcess; done: Promise<QiaoResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, NODE_ENV: 'production', FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<QiaoResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function qiao(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<QiaoResult> {
  return startQiao(args, options).done;
}

export function tempDir(prefix = 'qiao-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeTemp(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A memory → memory scheme whose target keeps its records in `targetFile` (shared across processes). */
export function memoryScheme(o: { id: string; count: number; targetFile: string; poisonEvery?: number; readDelayMs?: number; writeDelayMs?: number; pageSize?: number; acceptPoison?: string }): string {
  return `version: 1
id: ${o.id}
source:
  connector: memory
  stream: records
  params:
    count: ${o.count}
    pageSize: ${o.pageSize ?? 50}
    poisonEvery: ${o.poisonEvery ?? 0}
  connection:
    readDelayMs: ${o.readDelayMs ?? 0}
target:
  connector: memory
  operation: records.save
  connection:
    file: ${o.targetFile}
    writeDelayMs: ${o.writeDelayMs ?? 0}
    acceptPoison: ${o.acceptPoison ?? 'false'}
  limits:
    concurrency: 4
mapping:
  code: id
  name.zh_CN: name
  amount: amount
  poison: poison
`;
}

export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Inserts per code in a memory target file (complete lines only, as the target reads it). */
export function insertsPerCode(file: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(file)) return m;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const e = JSON.parse(line) as { op: string; code: string };
      if (e.op === 'insert') m.set(e.code, (m.get(e.code) ?? 0) + 1);
    } catch {
      // a line torn by a kill
    }
  }
  return m;
}

/** The environment the okki-to-yonbip template reads, pointing at two running simulators. */
export function simulatorEnv(
  okki: { url: string; credentials: { clientId: string; clientSecret: string } },
  bip: { dataCenterUrl: string; orgId: string; customerClassId: string; credentials: { tenantId: string; appKey: string; appSecret: string } },
): Record<string, string> {
  return {
    OKKI_BASE_URL: okki.url,
    OKKI_CLIENT_ID: okki.credentials.clientId,
    OKKI_CLIENT_SECRET: okki.credentials.clientSecret,
    YONBIP_TENANT_ID: bip.credentials.tenantId,
    YONBIP_DATA_CENTER_URL: bip.dataCenterUrl,
    YONBIP_APP_KEY: bip.credentials.appKey,
    YONBIP_APP_SECRET: bip.credentials.appSecret,
    YONBIP_CREATE_ORG: bip.orgId,
    YONBIP_CUSTOMER_CLASS: bip.customerClassId,
    // The tests written against merchant/save|list keep the classic endpoint set; okki-to-yonbip.e2e runs both.
    YONBIP_API: 'classic',
  };
}
