#!/usr/bin/env node
// bench/calls-per-customer: how many YonBIP calls a first sync costs per customer, with the V2
// endpoint set (merchant/newlist index once per run + batch/merchant/save, 100 per call) and with the
// classic one (merchant/list by code + merchant/save per customer). YonBIP publishes quotas of 40–60
// calls a minute for several APIs, so this figure is what bounds a first sync's wall time.
//
// Part 1: BENCH_COUNT (2,000) OKKI customers into an empty simulated tenant, the okki-to-yonbip
//   template as shipped, YONBIP_API unset (the template's default), v2, then classic. Counted on the YonBIP simulator: every HTTP call
//   (data-center lookup and token included) and the gateway's business calls. Goal: <= 0.05 with batches.
// Part 2 (v2; classic too with BENCH_QUOTA_CLASSIC=1, which takes ~BENCH_COUNT/2 s; BENCH_PARTS=2 and
//   BENCH_QUOTA_APIS=classic run that one alone): the same first sync
//   against a gateway quota of 60 calls a minute scaled in time (BENCH_QUOTA calls per BENCH_WINDOW_MS,
//   default 20 per 5 s), a fixed window enforced in front of the simulator with 310039, as YonBIP does;
//   qiao's YonBIP limit set to the same rate (requestsPerSecond: 4). Compared: the run's wall time against what the quota
//   allows for the gateway calls it made (calls / rate), goal within 15 %.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { machine, runQiao, schemeEnv, startSimulators, tempDir, TEMPLATE, writeTemp } from './lib.mjs';

const COUNT = Number(process.env.BENCH_COUNT ?? 2000);
/** Customers of part 2 (classic at 4 calls/s needs COUNT / 2 seconds). */
const QUOTA_COUNT = Number(process.env.BENCH_QUOTA_COUNT ?? COUNT);
// 60 calls a minute scaled in time: BENCH_QUOTA calls per BENCH_WINDOW_MS (default 20 per 5 s, 4×).
const PER_WINDOW = Number(process.env.BENCH_QUOTA ?? 20);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 5000);
const SCALE = (60_000 / WINDOW_MS) * (PER_WINDOW / 60);
const GATEWAY = '/iuap-api-gateway';
const AUTH = '/iuap-api-auth';
const BUSINESS = ['save', 'list', 'detail', 'orgTree', 'classTree', 'newlist', 'newinsert', 'newupdate', 'batchSave', 'batchDetail'];

async function firstSync(api) {
  const sims = await startSimulators({ customers: COUNT });
  try {
    const env = schemeEnv(sims, { bipApi: api, okkiConcurrency: 8 });
    // `default`: YONBIP_API unset, the template's own default endpoint set.
    if (api === 'default') delete env.YONBIP_API;
    const { ms, report } = await runQiao(env);
    const c = sims.yonbip.counters;
    const business = BUSINESS.reduce((n, k) => n + c[k], 0);
    const byApi = Object.fromEntries(BUSINESS.filter((k) => c[k]).map((k) => [k, c[k]]));
    if (report.counts.inserted !== COUNT || sims.yonbip.merchants().length !== COUNT) throw new Error(`${api}: expected ${COUNT} inserts, got ${JSON.stringify(report.counts)}`);
    return { api, ms: Math.round(ms), total: c.total, business, perCustomer: c.total / COUNT, businessPerCustomer: business / COUNT, byApi };
  } finally {
    await sims.stop();
  }
}

async function quotaSync(api, count) {
  const template = readFileSync(TEMPLATE, 'utf8');
  const perSecond = 'requestsPerSecond: ${env:YONBIP_REQUESTS_PER_SECOND:-10}';
  if (!template.includes(perSecond)) throw new Error(`the template no longer holds "${perSecond}": adjust bench/calls-per-customer.mjs`);
  const rate = (PER_WINDOW * 1000) / WINDOW_MS; // per second
  const dir = tempDir('qiao-bench-calls-quota-');
  const scheme = writeTemp(dir, 'quota.scheme.yaml', template.replace(perSecond, `requestsPerSecond: ${rate}`));
  const sims = await startSimulators({ customers: count });
  const upstream = new URL(sims.yonbip.dataCenterUrl);
  const agent = new http.Agent({ keepAlive: true });
  let admitted = 0;
  let refused = 0;
  let window = { n: -1, count: 0 };
  // A fixed-window quota in front of the simulator's gateway (YonBIP's window size is not documented).
  const judge = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (ch) => chunks.push(ch));
    req.on('end', () => {
      if (req.url.startsWith(GATEWAY)) {
        const n = Math.floor(Date.now() / WINDOW_MS);
        if (window.n !== n) window = { n, count: 0 };
        if (window.count >= PER_WINDOW) {
          refused++;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' }));
          return;
        }
        window.count++;
        admitted++;
      }
      const { host: _h, ...headers } = req.headers;
      const up = http.request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', (e) => res.writeHead(502).end(String(e)));
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((r) => judge.listen(0, '127.0.0.1', r));
  const judgeUrl = `http://127.0.0.1:${judge.address().port}`;
  try {
    const env = { ...schemeEnv(sims, { bipApi: api }), YONBIP_TENANT_ID: '', YONBIP_GATEWAY_URL: judgeUrl + GATEWAY, YONBIP_TOKEN_URL: judgeUrl + AUTH };
    const { ms } = await runQiao(env, { scheme });
    // What the quota allows: the first `rate` calls at once, then `rate` per second.
    const allowedMs = Math.max(0, (admitted - PER_WINDOW) / rate) * 1000;
    return { api, customers: count, ms: Math.round(ms), gatewayCalls: admitted, refused310039: refused, quotaAllowsMs: Math.round(allowedMs), overQuotaPct: allowedMs ? Math.round(((ms - allowedMs) / allowedMs) * 1000) / 10 : null };
  } finally {
    await new Promise((r) => judge.close(r));
    agent.destroy();
    await sims.stop();
  }
}

console.log(`machine: ${machine()}`);
// BENCH_PARTS=2 runs part 2 only; BENCH_QUOTA_APIS=classic (comma-separated) chooses its endpoint sets.
const PARTS = (process.env.BENCH_PARTS ?? '1,2').split(',');
const QUOTA_APIS = process.env.BENCH_QUOTA_APIS?.split(',') ?? (process.env.BENCH_QUOTA_CLASSIC === '1' ? ['v2', 'classic'] : ['v2']);
if (PARTS.includes('1')) console.log(`first sync of ${COUNT} customers, unlimited simulators`);
for (const api of PARTS.includes('1') ? ['default', 'v2', 'classic'] : []) {
  const r = await firstSync(api);
  console.log(`  ${api.padEnd(7)} ${r.perCustomer.toFixed(4)} YonBIP calls/customer (${r.total} calls; business ${r.business}, ${r.businessPerCustomer.toFixed(4)}/customer) ${JSON.stringify(r.byApi)} in ${r.ms} ms`);
}
if (PARTS.includes('2')) console.log(`first sync against a gateway quota of 60/min scaled ${SCALE}x in time (${PER_WINDOW} per ${WINDOW_MS} ms)`);
for (const api of PARTS.includes('2') ? QUOTA_APIS : []) {
  const r = await quotaSync(api, QUOTA_COUNT);
  console.log(`  ${api.padEnd(7)} ${JSON.stringify(r)}`);
}
