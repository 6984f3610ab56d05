import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qiao, tempDir } from './helpers.js';

describe('qiao connectors new <id> --rest', () => {
  it('scaffolds a manifest-only connector whose example scheme validates and runs as written', async () => {
    const dir = tempDir('qiao-new-');
    const folder = join(dir, 'my-crm');
    const r = await qiao(['connectors', 'new', 'my-crm', '--rest', '--dir', folder, '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['my-crm.rest.yaml', 'rest-manifest.schema.json', 'my-crm-to-file.scheme.yaml', 'README.md']) expect(existsSync(join(folder, f)), f).toBe(true);
    expect(readFileSync(join(folder, 'my-crm.rest.yaml'), 'utf8')).toMatch(/^\$schema: \.\/rest-manifest\.schema\.json$/m);

    // a small API of the shape the manifest declares
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.headers.authorization !== 'Bearer t0ken-secret') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":401,"message":"no"}');
        return;
      }
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page'));
      const ids = Array.from({ length: 120 }, (_, i) => 9007199254740993n + BigInt(i)).slice((page - 1) * 50, page * 50);
      // ids beyond 2^53, written as bare numbers
      const body = `{"code":0,"data":{"total":120,"items":[${ids.map((id) => `{"id":${id},"name":"客户${id}","updated_at":"2026-01-02T03:04:05Z"}`).join(',')}]}}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    try {
      const env = { MY_CRM_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, MY_CRM_TOKEN: 't0ken-secret' };
      const scheme = join(folder, 'my-crm-to-file.scheme.yaml');
      const v = await qiao(['validate', scheme], { env });
      expect(v.code, v.stderr).toBe(0);
      const run = await qiao(['run', scheme, '--json', '--state', join(dir, 'state')], { env });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ counts: { read: 120, inserted: 120, failed: 0 } });
      const lines = readFileSync(join(folder, 'my-crm-customers.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
      // 19-digit ids above 2^53 arrive exactly, as strings (whatever order the writes took)
      expect(lines.map((l) => l.id)).toContain('9007199254740993');
      expect(new Set(lines.map((l) => l.id)).size).toBe(120);
      expect(run.stdout + run.stderr).not.toContain('t0ken-secret');
    } finally {
      server.close();
    }
    const again = await qiao(['connectors', 'new', 'my-crm', '--rest', '--dir', folder]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await qiao(['connectors', 'new', 'My CRM', '--rest', '--dir', join(dir, 'other')])).code).toBe(2);
    // without --dir it goes where a code connector goes: ./connectors/<id>
    const cwd = tempDir('qiao-new-cwd-');
    const plain = await qiao(['connectors', 'new', 'shop-api', '--rest', '--json'], { cwd });
    expect(plain.code, plain.stderr).toBe(0);
    expect(existsSync(join(cwd, 'connectors', 'shop-api', 'shop-api.rest.yaml'))).toBe(true);
  }, 90_000);
});
