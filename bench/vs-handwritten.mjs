#!/usr/bin/env node
// bench/vs-handwritten: 2,000 OKKI customers into an empty YonBIP, on zero-latency simulators.
// qiao (the okki-to-yonbip template through loadScheme + runLoadedScheme with a SqliteStateStore, as
// `qiao run` does) against a minimal client written for this comparison that makes the same calls:
//   OKKI: one token (client credentials), list pages of 100, one company/info per customer;
//   YonBIP: one data-center gateway lookup, one signed token, then per customer one merchant/list
//   lookup by code and one merchant/save (Insert);
// with the same concurrency (8 requests in flight per system, no rate limit) and node:http keep-alive
// connections. Each side gets fresh simulators (so each side inserts all 2,000 customers), running in a
// process of their own (bench/sims-process.mjs) as remote systems do; BENCH_SIMS=inprocess runs them
// in this process instead, sharing the event loop with the side measured. The sides run alternately,
// after one unmeasured warm-up run each; the figure is the ratio of the MEDIANS of the measured runs
// (best-of and both sides' CPU time are printed too). Goal: qiao / hand-written <= 1.25.
import { rmSync } from 'node:fs';
import http from 'node:http';
import { sign } from '@qiao/connector-yonbip';
import { machine, median, runQiao, schemeEnv, startSimulators, startSimulatorsApart, tempDir } from './lib.mjs';

const CUSTOMERS = Number(process.env.BENCH_COUNT ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const CONCURRENCY = 8;
const PAGE = 100;
const CREATE_ORG = '1481709712348020742';
const CUSTOMER_CLASS = '1481712151907270669';

// ---- the hand-written client --------------------------------------------------------------------

/** At most `n` calls of the returned function run at once. */
function semaphore(n) {
  let active = 0;
  const waiting = [];
  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) next();
  };
  return async (fn) => {
    if (active >= n) await new Promise((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

function call(agent, method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${method} ${url}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The template's mapping, written out by hand. */
function mapCompany(c) {
  const nonEmpty = (v) => (v === undefined || v === null || v === '' ? undefined : String(v));
  const contacts = Array.isArray(c.customers) ? c.customers : [];
  const contact = contacts.find((k) => Number(k.main_customer_flag) === 1) ?? contacts[0];
  const tel = Array.isArray(c.tel) ? c.tel : c.tel && typeof c.tel === 'object' ? [c.tel.tel_area_code ?? c.tel[0], c.tel.tel ?? c.tel[1]] : ['', c.tel];
  const [area, number] = [nonEmpty(tel[0]), nonEmpty(tel[1])];
  const out = {
    code: nonEmpty(c.serial_id) ?? `OKKI-${c.company_id}`,
    name: { zh_CN: c.name },
    createOrg: CREATE_ORG,
    customerClass: CUSTOMER_CLASS,
    merchantOptions: true,
  };
  if (nonEmpty(c.short_name)) out.shortname = { zh_CN: c.short_name };
  if (nonEmpty(c.homepage)) out.website = c.homepage;
  if (nonEmpty(c.address)) out.address = { zh_CN: c.address };
  if (nonEmpty(contact?.name)) out.contactName = contact.name;
  if (nonEmpty(contact?.email)) out.email = contact.email;
  if (number) out.contactTel = area ? `${area}-${number}` : number;
  return out;
}

/** The whole sync, by hand. Returns the number of customers saved. */
async function handwritten(sims, concurrency) {
  const okkiAgent = new http.Agent({ keepAlive: true });
  const bipAgent = new http.Agent({ keepAlive: true });
  const okkiSlot = semaphore(concurrency);
  const bipSlot = semaphore(concurrency);
  try {
    // OKKI token
    const { clientId, clientSecret } = sims.okki.credentials;
    const tok = await okkiSlot(() =>
      call(okkiAgent, 'POST', `${sims.okki.url}/v1/oauth2/access_token`, {
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'company' }),
      }),
    );
    const okkiAuth = { Authorization: tok.access_token };
    // YonBIP gateway lookup + signed token
    const { tenantId, appKey, appSecret } = sims.yonbip.credentials;
    const gw = await bipSlot(() => call(bipAgent, 'GET', `${sims.yonbip.dataCenterUrl}/open-auth/dataCenter/getGatewayAddress?tenantId=${encodeURIComponent(tenantId)}`));
    const { gatewayUrl, tokenUrl } = gw.data;
    const timestamp = String(Date.now());
    const signature = sign({ appKey, timestamp }, appSecret);
    const bt = await bipSlot(() =>
      call(bipAgent, 'GET', `${tokenUrl}/open-auth/selfAppAuth/base/v1/getAccessToken?appKey=${encodeURIComponent(appKey)}&timestamp=${timestamp}&signature=${encodeURIComponent(signature)}`),
    );
    const at = `access_token=${encodeURIComponent(bt.data.access_token)}`;

    // writers: one lookup by code and one save per customer
    const queue = [];
    let readDone = false;
    const idle = []; // writers waiting for work
    let saved = 0;
    const writer = async () => {
      for (;;) {
        const payload = queue.shift();
        if (!payload) {
          if (readDone) return;
          await new Promise((r) => idle.push(r));
          continue;
        }
        const found = await bipSlot(() =>
          call(bipAgent, 'POST', `${gatewayUrl}/yonbip/digitalModel/merchant/list?${at}`, { body: JSON.stringify({ pageIndex: 1, pageSize: 10, code: payload.code }) }),
        );
        const row = found.data?.recordList?.find((r) => String(r.code) === payload.code);
        const data = row
          ? { ...payload, id: String(row.id), _status: 'Update' } // not reached on an empty YonBIP (and the id is rounded by JSON.parse: hand-written)
          : { ...payload, _status: 'Insert', merchantApplyRanges: [{ orgId: payload.createOrg, rangeType: 1, isCreator: true, isApplied: true, _status: 'Insert' }] };
        const res = await bipSlot(() => call(bipAgent, 'POST', `${gatewayUrl}/yonbip/digitalModel/merchant/save?${at}`, { body: JSON.stringify({ data }) }));
        if (String(res.code) !== '200') throw new Error(`save ${payload.code}: ${res.code} ${res.message}`);
        saved++;
      }
    };
    const push = (p) => {
      queue.push(p);
      idle.shift()?.();
    };
    const writers = Array.from({ length: concurrency }, writer);

    // reader: list pages (the next page fetched while this one's details run), one info per customer
    const list = (page) =>
      okkiSlot(() => call(okkiAgent, 'GET', `${sims.okki.url}/v1/company/list?start_index=${page}&count=${PAGE}&all=1`, { headers: okkiAuth }));
    let page = 1;
    let next = list(page);
    for (;;) {
      const res = await next;
      const rows = res.data.list;
      const more = rows.length === PAGE && page * PAGE < res.data.totalItem;
      if (more) next = list(++page);
      await Promise.all(
        rows.map((row) =>
          okkiSlot(() => call(okkiAgent, 'GET', `${sims.okki.url}/v1/company/info?company_id=${row.company_id}`, { headers: okkiAuth })).then((info) =>
            push(mapCompany(Object.assign({}, row, info.data))),
          ),
        ),
      );
      if (!more) break;
    }
    readDone = true;
    for (const w of idle.splice(0)) w();
    await Promise.all(writers);
    return saved;
  } finally {
    okkiAgent.destroy();
    bipAgent.destroy();
  }
}

// ---- the comparison -----------------------------------------------------------------------------

/** JSON with sorted keys. */
const canonical = (v) =>
  Array.isArray(v) ? `[${v.map(canonical).join(',')}]` : v && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}` : JSON.stringify(v);

/** What YonBIP holds, by code, without ids and times: both sides must write the same records. */
function contentOf(merchants) {
  const out = new Map();
  for (const m of merchants) {
    const { id: _i, createTime: _c, modifyTime: _m, pubts: _p, merchantApplyRanges, ...rest } = m;
    out.set(m.code, canonical({ ...rest, merchantApplyRanges: merchantApplyRanges.map(({ id: _x, ...r }) => r) }));
  }
  return out;
}

/** BENCH_SIMS=inprocess runs the simulators in this process, sharing its event loop (the earlier setup). */
const IN_PROCESS = process.env.BENCH_SIMS === 'inprocess';

async function simulators() {
  if (!IN_PROCESS) return startSimulatorsApart({ customers: CUSTOMERS });
  const sims = await startSimulators({ customers: CUSTOMERS });
  return {
    ...sims,
    counters: async () => ({ okki: { ...sims.okki.counters }, yonbip: { ...sims.yonbip.counters } }),
    merchants: async () => sims.yonbip.merchants(),
  };
}

async function side(kind, check) {
  const sims = await simulators();
  const dir = tempDir('qiao-bench-vs-');
  try {
    let ms;
    let runMs;
    const cpu0 = process.cpuUsage();
    if (kind === 'qiao') {
      let report;
      ({ ms, report } = await runQiao(schemeEnv(sims, { okkiConcurrency: CONCURRENCY, bipConcurrency: CONCURRENCY }), { stateDir: dir }));
      runMs = report.durationMs;
    } else {
      const t0 = performance.now();
      const n = await handwritten(sims, CONCURRENCY);
      ms = performance.now() - t0;
      runMs = ms;
      if (n !== CUSTOMERS) throw new Error(`hand-written saved ${n} of ${CUSTOMERS}`);
    }
    const used = process.cpuUsage(cpu0);
    const cpuMs = (used.user + used.system) / 1000;
    const counters = await sims.counters();
    const c = counters.yonbip;
    if (c.inserts !== CUSTOMERS || c.updates !== 0) throw new Error(`${kind}: ${c.inserts} inserts, ${c.updates} updates (want ${CUSTOMERS}, 0)`);
    const o = counters.okki;
    const calls = { okki: { token: o.token, list: o.list, info: o.info }, bip: { lookup: c.lookup, token: c.token, list: c.list, save: c.save, detail: c.detail } };
    return { ms, runMs, cpuMs, calls, content: check ? contentOf(await sims.merchants()) : undefined };
  } finally {
    await sims.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// warm-up (unmeasured): JIT, module caches; also checks that both sides write identical records
// through identical calls
const wq = await side('qiao', true);
const wh = await side('hand', true);
const same = wq.content.size === wh.content.size && [...wq.content].every(([code, v]) => wh.content.get(code) === v);
if (!same) {
  const diff = [...wq.content].find(([code, v]) => wh.content.get(code) !== v);
  throw new Error(`the two sides wrote different records, e.g. ${diff?.[0]}:\n qiao ${diff?.[1]}\n hand ${wh.content.get(diff?.[0])}`);
}
if (JSON.stringify(wq.calls) !== JSON.stringify(wh.calls)) {
  throw new Error(`the two sides made different calls: qiao ${JSON.stringify(wq.calls)}, hand-written ${JSON.stringify(wh.calls)}`);
}

const q = [];
const qRun = [];
const qCpu = [];
const h = [];
const hCpu = [];
const runQ = async () => {
  const r = await side('qiao');
  q.push(r.ms);
  qRun.push(r.runMs);
  qCpu.push(r.cpuMs);
};
const runH = async () => {
  const r = await side('hand');
  h.push(r.ms);
  hCpu.push(r.cpuMs);
};
for (let i = 0; i < ROUNDS; i++) {
  // alternate which side goes first
  if (i % 2 === 0) {
    await runQ();
    await runH();
  } else {
    await runH();
    await runQ();
  }
}
const mq = median(q);
const mh = median(h);
const ratio = mq / mh;
const bestRatio = Math.min(...q) / Math.min(...h);
// the run alone (the report's duration: without the scheme check and opening the state store)
const runRatio = median(qRun) / mh;
const cpuRatio = median(qCpu) / median(hCpu);
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  `vs-handwritten: ${CUSTOMERS} customers, concurrency ${CONCURRENCY}, simulators ${IN_PROCESS ? 'in this process' : 'in their own process'}, same ${JSON.stringify(wq.calls.bip).replace(/"/g, '')} BIP calls; qiao median ${fmt(mq)} (best ${fmt(Math.min(...q))}, CPU ${fmt(median(qCpu))}), hand-written median ${fmt(mh)} (best ${fmt(Math.min(...h))}, CPU ${fmt(median(hCpu))}); ratio qiao/hand-written ${ratio.toFixed(2)} (median of ${ROUNDS}; best-of ${bestRatio.toFixed(2)}; run without scheme load ${runRatio.toFixed(2)}; client CPU ${cpuRatio.toFixed(2)}) (goal <= 1.25) [${machine()}]`,
);
if (process.env.BENCH_JSON) {
  console.log(JSON.stringify({ bench: 'vs-handwritten', customers: CUSTOMERS, concurrency: CONCURRENCY, qiaoMs: q, qiaoRunMs: qRun, qiaoCpuMs: qCpu, handMs: h, handCpuMs: hCpu, ratio, bestRatio, runRatio, cpuRatio, calls: wq.calls }));
}
