import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStateStore, type RunReport } from '@qiao/core';
import { insertsPerCode as inserts, memoryScheme, qiao, tempDir, waitFor } from './helpers.js';
import { api, post, startServe } from './serve-helpers.js';

interface Status {
  id: string;
  file?: string;
  valid: boolean;
  error?: string;
  running: boolean;
  runs: { runId: string; status: string; startedAt: string; durationMs: number }[];
  queue: Record<string, number>;
  deadLetters: { code: string; count: number; diagnosis?: string }[];
  successRate: number | null;
  cursor: string | null;
}

function folder(prefix: string) {
  const dir = tempDir(prefix);
  const schemes = join(dir, 'schemes');
  mkdirSync(schemes);
  return { dir, schemes, state: join(dir, 'state'), target: join(dir, 'target.jsonl') };
}

const overview = async (url: string) => (await api<{ schemes: Status[] }>(url, '/api/overview')).body.schemes;

describe('qiao serve', () => {
  it('runs schemes on their cron without overlap, reports an invalid file and goes on', async () => {
    const f = folder('qiao-serve-cron-');
    // every second, but each run takes longer than that: ticks during a run are skipped, not piled up
    writeFileSync(
      join(f.schemes, 'slow.yaml'),
      memoryScheme({ id: 'slow', count: 12, targetFile: f.target, writeDelayMs: 400 }).replace('limits:\n    concurrency: 4', 'limits:\n    concurrency: 2') +
        'schedule:\n  cron: "* * * * * *"\n',
    );
    writeFileSync(join(f.schemes, 'broken.yaml'), 'version: 1\nid: broken\nsource: { connector: nope }\n');
    const serve = await startServe(['--schemes', f.schemes, '--port', '0', '--state', f.state]);
    try {
      await waitFor(() => /tick skipped/.test(serve.log()), 20_000, 'a skipped tick');
      const list = await overview(serve.url);
      const broken = list.find((s) => s.id === 'broken.yaml')!;
      expect(broken.valid).toBe(false);
      expect(broken.error).toContain(join(f.schemes, 'broken.yaml'));
      expect(list.find((s) => s.id === 'slow')!.valid).toBe(true);
      await waitFor(() => (serve.log().match(/slow: run (succeeded|partial|failed)/g) ?? []).length >= 2, 30_000, 'two runs');

      // a file that becomes invalid is reported and skipped; it comes back once fixed
      const good = readFileSync(join(f.schemes, 'slow.yaml'), 'utf8');
      writeFileSync(join(f.schemes, 'slow.yaml'), good.replace('stream: records', 'stream: nope'));
      await waitFor(() => /slow\.yaml: invalid/.test(serve.log()), 20_000, 'invalid reported');
      expect((await overview(serve.url)).find((s) => s.file?.endsWith('slow.yaml') || s.id === 'slow.yaml')).toMatchObject({ valid: false });
    } finally {
      serve.child.kill('SIGTERM');
      expect((await serve.done).code).toBe(0);
    }
    // no two runs of one scheme at once: each started after the previous one finished
    const runs = JSON.parse((await qiao(['runs', 'slow', '--state', f.state, '--json'])).stdout) as { startedAt: string; finishedAt: string }[];
    const ordered = runs.slice().reverse();
    for (let i = 1; i < ordered.length; i++) expect(Date.parse(ordered[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(ordered[i - 1]!.finishedAt));
    expect([...inserts(f.target).values()].every((n) => n === 1)).toBe(true);
  });

  it('serves the same data as `qiao overview --json`; runs and re-queues from the API', async () => {
    const f = folder('qiao-serve-api-');
    writeFileSync(join(f.schemes, 'poison.yaml'), memoryScheme({ id: 'poison', count: 30, poisonEvery: 10, targetFile: f.target }));
    const serve = await startServe(['--schemes', f.schemes, '--port', '0', '--state', f.state]);
    try {
      expect((await api(serve.url, '/api/schemes/poison/run', { method: 'POST' })).status).toBe(403); // no action header
      expect((await post(serve.url, '/api/schemes/poison/run')).status).toBe(202);
      await waitFor(() => /poison: run partial/.test(serve.log()), 20_000, 'partial run');
      const s = (await api<Status>(serve.url, '/api/schemes/poison')).body;
      expect(s.queue.dead).toBe(3);
      expect(s.deadLetters[0]).toMatchObject({ code: 'memory.poison', count: 3, diagnosis: expect.stringContaining('acceptPoison') });

      const cli = JSON.parse((await qiao(['overview', 'poison', '--state', f.state, '--json'])).stdout) as Status;
      for (const k of ['runs', 'queue', 'deadLetters', 'successRate', 'recordSuccessRate', 'cursor', 'lastRun'] as const) {
        expect((s as unknown as Record<string, unknown>)[k]).toEqual((cli as unknown as Record<string, unknown>)[k]);
      }
      const dead = (await api<{ id: number; key: string }[]>(serve.url, '/api/schemes/poison/dead')).body;
      expect(dead.map((d) => d.key)).toEqual(['R0000010', 'R0000020', 'R0000030']);

      // still poisoned: the drain run after the re-queue sends it back to dead letters
      const rq = await post(serve.url, '/api/schemes/poison/requeue', { ids: [dead[0]!.id] });
      expect(rq).toMatchObject({ status: 202, body: { requeued: 1, started: true } });
      await waitFor(() => (serve.log().match(/poison: run partial/g) ?? []).length >= 2, 20_000, 'drain run');
      expect((await api<Status>(serve.url, '/api/schemes/poison')).body.queue.dead).toBe(3);
      expect((await api(serve.url, '/api/schemes/nope')).status).toBe(404);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.done;
    }
  });

  it('serves the API the page reads: scheme rows, runs, a run with its dead letters, re-queue by id or all; cancelled runs count neither way', async () => {
    const f = folder('qiao-serve-page-api-');
    writeFileSync(join(f.schemes, 'poison.yaml'), memoryScheme({ id: 'poison', count: 30, poisonEvery: 10, targetFile: f.target }));
    const serve = await startServe(['--schemes', f.schemes, '--port', '0', '--state', f.state]);
    try {
      expect((await post(serve.url, '/api/schemes/poison/run')).status).toBe(202);
      await waitFor(() => /poison: run partial/.test(serve.log()), 20_000, 'partial run');

      type Row = { id: string; status: string; queued: number; dead: number; successRate: number | null; lastRun: { runId: string; counts: Record<string, number> }; throttling: { target: { rateLimitedAnswers: number } } | null };
      const rows = (await api<{ schemes: Row[] }>(serve.url, '/api/schemes')).body.schemes;
      const row = rows.find((r) => r.id === 'poison')!;
      expect(row).toMatchObject({ status: 'partial', queued: 0, dead: 3, successRate: 0, lastRun: { counts: { read: 30, inserted: 27, failed: 3 } } });
      expect(row.throttling).toMatchObject({ target: { rateLimitedAnswers: 0 } }); // read from the run's limiters

      const runs = (await api<RunReport[]>(serve.url, '/api/schemes/poison/runs')).body;
      expect(runs).toHaveLength(1);
      // the diagnosis names the scheme's file, ready to paste
      expect(runs[0]!.errors[0]!.hint).toContain(join(f.schemes, 'poison.yaml'));
      expect(runs[0]!.errors[0]!.hint).not.toContain('<scheme>');
      const run = (await api<{ scheme: string; report: RunReport; deadLetters: { id: number; key: string; code: string; diagnosis: string }[] }>(serve.url, `/api/runs/${runs[0]!.runId}`)).body;
      expect(run.scheme).toBe('poison');
      expect(run.report.counts).toEqual(runs[0]!.counts);
      expect(run.deadLetters.map((d) => d.key)).toEqual(['R0000010', 'R0000020', 'R0000030']);
      expect(run.deadLetters[0]).toMatchObject({ code: 'R0000010', diagnosis: expect.stringContaining('acceptPoison') });
      expect((await api(serve.url, '/api/runs/no-such-run')).status).toBe(404);

      // re-queue: an unknown id is an error, not "re-queued 0"; bad ids are refused
      const unknown = await post(serve.url, '/api/schemes/poison/retry', { ids: [999_999] });
      expect(unknown.status).toBe(404);
      expect((unknown.body as { error: string }).error).toContain('999999');
      expect((await post(serve.url, '/api/schemes/poison/retry', { ids: ['x'] })).status).toBe(400);
      // all of them, as `qiao queue retry --all --run`: the drain run sends the still-poisoned records back
      expect(await post(serve.url, '/api/schemes/poison/retry', {})).toMatchObject({ status: 202, body: { requeued: 3, started: true } });
      await waitFor(() => (serve.log().match(/poison: run partial/g) ?? []).length >= 2, 20_000, 'drain run');
      expect((await api<Row>(serve.url, '/api/schemes/poison')).body).toMatchObject({ queue: { dead: 3 } });

      // a cancelled run (the operator's Ctrl-C) is its own status and left out of the success rate
      const store = new SqliteStateStore(f.state);
      const at = (ms: number) => new Date(Date.now() + ms).toISOString();
      const counts = { read: 5, inserted: 5, updated: 0, skipped: 0, failed: 0 };
      await store.startRun('poison', { scheme: 'poison', runId: 'succeeded-1', status: 'succeeded', counts, startedAt: at(1000), finishedAt: at(1010), durationMs: 10, errors: [] });
      await store.startRun('poison', { scheme: 'poison', runId: 'cancelled-1', status: 'cancelled', counts, startedAt: at(2000), finishedAt: at(2010), durationMs: 10, errors: [] });
      await store.close();
      const after = (await api<{ schemes: Row[] }>(serve.url, '/api/schemes')).body.schemes.find((r) => r.id === 'poison')!;
      expect(after.status).toBe('cancelled');
      expect(after.successRate).toBeCloseTo(1 / 3); // partial, partial, succeeded: 1 of 3, not 1 of 4
      expect((await api<{ report: RunReport }>(serve.url, '/api/runs/cancelled-1')).body.report.status).toBe('cancelled');
    } finally {
      serve.child.kill('SIGTERM');
      await serve.done;
    }
  });

  it('serves the page and chart.js itself; no secret reaches the page, the API or the event stream', async () => {
    const f = folder('qiao-serve-secrets-');
    const token = 'memory-secret-token-7f3a9c';
    writeFileSync(
      join(f.schemes, 'secret.yaml'),
      memoryScheme({ id: 'secret', count: 20, poisonEvery: 10, targetFile: f.target }).replace('    acceptPoison: false\n', '    acceptPoison: false\n    token: ${env:MEMORY_TARGET_TOKEN}\n'),
    );
    const serve = await startServe(['--schemes', f.schemes, '--port', '0', '--state', f.state], { MEMORY_TARGET_TOKEN: token });
    const seen: string[] = [];
    const events = new AbortController();
    try {
      const page = await fetch(`${serve.url}/`);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script src="/assets/chart.umd.js">');
      expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
      seen.push(html);
      const chart = await fetch(`${serve.url}/assets/chart.umd.js`);
      expect(chart.status).toBe(200);
      const chartDir = dirname(createRequire(import.meta.url).resolve('chart.js'));
      expect(await chart.text()).toBe(readFileSync(join(chartDir, 'chart.umd.min.js'), 'utf8'));
      seen.push(await (await fetch(`${serve.url}/assets/app.js`)).text());

      // the event stream during a run
      const stream = fetch(`${serve.url}/api/events`, { signal: events.signal }).then(async (res) => {
        const reader = res.body!.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          seen.push(Buffer.from(value).toString());
        }
      }).catch(() => undefined);
      expect((await post(serve.url, '/api/schemes/secret/run')).status).toBe(202);
      await waitFor(() => /secret: run partial/.test(serve.log()), 20_000, 'partial run');
      await new Promise((r) => setTimeout(r, 300));
      const runId = (await api<RunReport[]>(serve.url, '/api/schemes/secret/runs')).body[0]!.runId;
      for (const path of ['/api/overview', '/api/schemes', '/api/schemes/secret', '/api/schemes/secret/runs', '/api/schemes/secret/dead', `/api/runs/${runId}`]) {
        const res = await fetch(serve.url + path);
        expect(res.status, path).toBe(200);
        seen.push(await res.text());
      }
      events.abort();
      await stream;
      expect(seen.join('\n')).toContain('memory.poison'); // the responses were read
      expect(seen.join('\n')).toContain('event: progress');
      for (const text of seen) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(encodeURIComponent(token));
      }
    } finally {
      events.abort();
      serve.child.kill('SIGTERM');
      const done = await serve.done;
      expect(done.stderr).not.toContain(token);
    }
  });

  it('stops gracefully on SIGTERM in the middle of a run; nothing is lost or doubled', async () => {
    const f = folder('qiao-serve-stop-');
    const text = memoryScheme({ id: 'long', count: 60, targetFile: f.target, writeDelayMs: 100 });
    writeFileSync(join(f.schemes, 'long.yaml'), text);
    const serve = await startServe(['--schemes', f.schemes, '--port', '0', '--state', f.state]);
    expect((await post(serve.url, '/api/schemes/long/run')).status).toBe(202);
    expect((await post(serve.url, '/api/schemes/long/run')).status).toBe(409);
    await waitFor(() => inserts(f.target).size >= 8, 20_000, 'writes under way');
    serve.child.kill('SIGTERM');
    const done = await serve.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/stopped; nothing was lost/);
    const partial = inserts(f.target).size;
    expect(partial).toBeLessThan(60);
    const rerun = await qiao(['run', join(f.schemes, 'long.yaml'), '--state', f.state, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const all = inserts(f.target);
    expect(all.size).toBe(60);
    expect([...all.values()].every((n) => n === 1)).toBe(true);
  });

  it('needs a token to bind beyond loopback, and checks it', async () => {
    const f = folder('qiao-serve-token-');
    const refused = await qiao(['serve', '--schemes', f.schemes, '--host', '0.0.0.0', '--port', '0', '--state', f.state]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--token');
    const token = 'serve-token-0123456789';
    const serve = await startServe(['--schemes', f.schemes, '--host', '0.0.0.0', '--port', '0', '--state', f.state], { QIAO_SERVE_TOKEN: token });
    const port = new URL(serve.url).port;
    const local = `http://127.0.0.1:${port}`;
    try {
      expect((await api(local, '/api/overview')).status).toBe(401);
      expect((await api(local, '/api/overview', { headers: { authorization: 'Bearer wrong-token-000000' } })).status).toBe(401);
      expect((await api(local, '/api/overview', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(`${local}/`)).status).toBe(200); // the page itself holds no data
    } finally {
      serve.child.kill('SIGTERM');
      const done = await serve.done;
      expect(done.stderr).not.toContain(token);
    }
  });
});

describe('alerts to group robots', () => {
  it('posts one concise message to DingTalk (signed), WeCom and Feishu (signed) when a run is partial', async () => {
    const received: { path: string; query: URLSearchParams; body: Record<string, any> }[] = [];
    const hook = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        received.push({ path: u.pathname, query: u.searchParams, body: JSON.parse(text) as Record<string, any> });
        res.setHeader('content-type', 'application/json');
        res.end(u.pathname === '/feishu' ? '{"code":0,"msg":"success"}' : '{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    const dingSecret = 'SECdingtalk0123456789abcdef';
    const feishuSecret = 'feishu-secret-abcdef012345';
    const f = folder('qiao-serve-alerts-');
    writeFileSync(
      join(f.schemes, 'alerting.yaml'),
      memoryScheme({ id: 'alerting', count: 20, poisonEvery: 10, targetFile: f.target }) +
        `alerts:
  webhooks:
    - type: dingtalk
      url: ${base}/dingtalk?access_token=ding-token-1
      secret: \${env:DINGTALK_WEBHOOK_SECRET}
    - type: wecom
      url: ${base}/wecom?key=wecom-key-1
    - type: feishu
      url: ${base}/feishu
      secret: \${env:FEISHU_WEBHOOK_SECRET}
`,
    );
    const serve = await startServe(['--schemes', f.schemes, '--port', '0', '--state', f.state], {
      DINGTALK_WEBHOOK_SECRET: dingSecret,
      FEISHU_WEBHOOK_SECRET: feishuSecret,
    });
    try {
      expect((await post(serve.url, '/api/schemes/alerting/run')).status).toBe(202);
      await waitFor(() => received.length >= 3, 20_000, 'three alerts');
      await new Promise((r) => setTimeout(r, 300));
      expect(received).toHaveLength(3);

      const ding = received.find((r) => r.path === '/dingtalk')!;
      const ts = ding.query.get('timestamp')!;
      expect(Math.abs(Date.now() - Number(ts))).toBeLessThan(60_000);
      expect(ding.query.get('sign')).toBe(createHmac('sha256', dingSecret).update(`${ts}\n${dingSecret}`).digest('base64'));
      expect(ding.query.get('access_token')).toBe('ding-token-1');
      expect(ding.body.msgtype).toBe('markdown');
      expect(ding.body.markdown.title).toContain('alerting');

      const wecom = received.find((r) => r.path === '/wecom')!;
      expect(wecom.body).toMatchObject({ msgtype: 'markdown', markdown: { content: expect.any(String) } });
      const text: string = wecom.body.markdown.content;
      expect(text).toContain('alerting');
      expect(text).toMatch(/failed 2/);
      expect(text).toContain('memory.poison');
      expect(text).toContain('acceptPoison'); // the diagnosis
      expect(text).toContain(`${serve.url}/#alerting`); // a link to the page

      const feishu = received.find((r) => r.path === '/feishu')!;
      expect(feishu.body.msg_type).toBe('text');
      const fts = Number(feishu.body.timestamp);
      expect(feishu.body.sign).toBe(createHmac('sha256', `${fts}\n${feishuSecret}`).update('').digest('base64'));
      expect(feishu.body.content.text).toContain('memory.poison');
    } finally {
      serve.child.kill('SIGTERM');
      const done = await serve.done;
      hook.close();
      expect(done.stderr).not.toContain(dingSecret);
      expect(done.stderr).not.toContain(feishuSecret);
      expect(done.stderr).not.toContain('wecom-key-1');
    }
  });
});
