import { startQiao } from './helpers.js';

/** Starts `qiao serve` and resolves once it prints the page's URL. */
export async function startServe(args: string[], env: Record<string, string | undefined> = {}) {
  const proc = startQiao(['serve', ...args], { env });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`qiao serve did not start:\n${log}`)), 20_000);
    proc.child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /run overview at (http:\/\/[^\s/]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.child.on('exit', () => reject(new Error(`qiao serve exited:\n${log}`)));
  });
  return { ...proc, url, log: () => log };
}

export async function api<T = unknown>(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url + path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export const post = (url: string, path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  api(url, path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-qiao-action': '1', ...headers }, body: JSON.stringify(body) });
