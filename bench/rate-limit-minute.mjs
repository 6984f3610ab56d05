#!/usr/bin/env node
// bench/rate-limit-minute: YonBIP's published quotas for some APIs are 40–60 calls a minute. The
// okki-to-yonbip template runs with the YonBIP connection's limit set to `requestsPerMinute: R`
// (R = 60 by default; the manifest's default 10/s stays, and the stricter limit applies) and the
// gateway and token URLs pointing at a judge in this process: a proxy in front of the YonBIP simulator
// that admits R gateway calls per calendar minute and answers the rest with 310039, as YonBIP does.
// OKKI side unlimited.
// Prints the achieved rate of gateway calls (merchant/list + merchant/save) as a share of R, and how
// many rate-limit answers (310039) qiao provoked. Goal: >= 95% of R with zero 310039 answers.
//
// Achieved rate: gateway calls the judge admitted in the first two minutes after the first one, over
// two minutes. A limiter that starts each call as soon as its window allows gets 2R − 1 of them (the
// token call takes one place in the first window); one that waits longer than it must gets fewer.
// The run needs a little more than two windows of calls, so it lasts a little over 2 minutes.
// Also printed: the most gateway calls the judge saw in any 60 s (sliding) window. The judge shares
// this process with qiao and the simulators, so a call reaches it a few ms after qiao started it, more
// when the process is busy (the first window, while OKKI is read) than when it is not: a call started
// exactly 60 s after another can arrive less than 60 s after it. BENCH_DUMP=1 prints every admitted
// call's arrival, in ms after the first.
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { machine, runQiao, schemeEnv, startSimulators, tempDir, TEMPLATE, writeTemp } from './lib.mjs';

const R = Number(process.env.BENCH_RATE_PER_MINUTE ?? 60);
const WINDOW_MS = 60_000;
// two gateway calls (lookup by code + save) per customer: a little more than two windows' worth
const CUSTOMERS = Number(process.env.BENCH_COUNT ?? R + 3);
const GATEWAY = '/iuap-api-gateway';
const AUTH = '/iuap-api-auth';

// the template with the YonBIP connection's limit per minute instead of per second
const template = readFileSync(TEMPLATE, 'utf8');
const perSecond = 'requestsPerSecond: ${env:YONBIP_REQUESTS_PER_SECOND:-10}';
if (!template.includes(perSecond)) throw new Error(`the template no longer holds "${perSecond}": adjust bench/rate-limit-minute.mjs`);
const dir = tempDir('qiao-bench-rate-minute-');
const scheme = writeTemp(dir, 'per-minute.scheme.yaml', template.replace(perSecond, `requestsPerMinute: ${R}`));

const sims = await startSimulators({ customers: CUSTOMERS });
const upstream = new URL(sims.yonbip.dataCenterUrl);
const agent = new http.Agent({ keepAlive: true });
/** Arrival times (performance.now) of the gateway calls admitted. */
const admitted = [];
let refused = 0;
let minute = { n: -1, count: 0 };
const judge = http.createServer((req, res) => {
  // the call arrives when its head does (its body follows at once)
  const arrived = performance.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url.startsWith(GATEWAY)) {
      const n = Math.floor(Date.now() / WINDOW_MS);
      if (minute.n !== n) minute = { n, count: 0 };
      if (minute.count >= R) {
        refused++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: '310039', message: '当前 app 访问频率超出限制(app 限流)，请稍后再试' }));
        return;
      }
      minute.count++;
      admitted.push(arrived);
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

let result;
try {
  const env = { ...schemeEnv(sims, { bipConcurrency: 8, okkiConcurrency: 8 }), YONBIP_TENANT_ID: '', YONBIP_GATEWAY_URL: judgeUrl + GATEWAY, YONBIP_TOKEN_URL: judgeUrl + AUTH };
  result = await runQiao(env, { stateDir: dir, scheme });
} finally {
  await new Promise((r) => judge.close(r));
  agent.destroy();
  await sims.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (result.report.counts.inserted !== CUSTOMERS) throw new Error(`expected ${CUSTOMERS} inserted: ${JSON.stringify(result.report.counts)}`);

const first = admitted[0];
const inTwoWindows = admitted.filter((t) => t < first + 2 * WINDOW_MS).length;
const share = inTwoWindows / (2 * R);
let slidingMax = 0;
for (let i = 0, j = 0; i < admitted.length; i++) {
  while (admitted[i] - admitted[j] >= WINDOW_MS) j++;
  slidingMax = Math.max(slidingMax, i - j + 1);
}
const spanS = (admitted[admitted.length - 1] - first) / 1000;
console.log(
  `rate-limit-minute: R=${R}/min, ${CUSTOMERS} customers, ${admitted.length} gateway calls in ${spanS.toFixed(1)} s; ${inTwoWindows} in the first two minutes = ${(share * 100).toFixed(1)}% of R; most in any 60 s ${slidingMax}; rate-limit answers (310039) ${refused} (goal >= 95% of R, 0 answers) [${machine()}]`,
);
if (process.env.BENCH_DUMP) console.log(JSON.stringify(admitted.map((t) => Math.round(t - first))));
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'rate-limit-minute', R, customers: CUSTOMERS, gatewayCalls: admitted.length, inTwoWindows, share, slidingMax, rateLimited: refused, wallMs: result.ms }));
}
