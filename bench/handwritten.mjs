// The hand-written client qiao is compared with (bench/vs-handwritten.mjs at zero latency,
// bench/realistic-latency.mjs at 20 ms per request), and one measured side of such a comparison.
import { rmSync } from 'node:fs';
import http from 'node:http';
import { sign } from '@qiao/connector-yonbip';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, YONBIP_SANDBOX_ORG } from '@qiao/connector-yonbip/sandbox';
import { runQiao, schemeEnv, startSimulators, startSimulatorsApart, tempDir } from './lib.mjs';

const PAGE = 100;
const CREATE_ORG = YONBIP_SANDBOX_ORG;
const CUSTOMER_CLASS = YONBIP_SANDBOX_CUSTOMER_CLASS;

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
export async function handwritten(sims, concurrency) {
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
    // a second listing confirms that nothing moved while paging (rows move under page-number paging);
    // qiao makes the same pass, so both sides do the same work. Nothing changes in the benchmark's data.
    for (let p = 1; ; p++) {
      const res = await list(p);
      if (!(res.data.list.length === PAGE && p * PAGE < res.data.totalItem)) break;
    }
    // and, as qiao's default onDelete: report does, the customers deleted in the window (removed=1),
    // listed twice like the live ones
    for (let pass = 0; pass < 2; pass++)
    for (let p = 1; ; p++) {
      const res = await okkiSlot(() =>
        call(okkiAgent, 'GET', `${sims.okki.url}/v1/company/list?start_index=${p}&count=${PAGE}&all=1&removed=1`, { headers: okkiAuth }),
      );
      if (!(res.data.list.length === PAGE && p * PAGE < res.data.totalItem)) break;
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

/**
 * Fresh simulators holding `customers` OKKI customers and an empty YonBIP, answering after `latencyMs`:
 * in a process of their own, or in this one (`inProcess`, sharing its event loop).
 */
async function simulators({ customers, latencyMs = 0, inProcess = false }) {
  if (!inProcess) return startSimulatorsApart({ customers, latencyMs });
  const sims = await startSimulators({ customers, latencyMs });
  return {
    ...sims,
    counters: async () => ({ okki: { ...sims.okki.counters }, yonbip: { ...sims.yonbip.counters } }),
    merchants: async () => sims.yonbip.merchants(),
  };
}

/**
 * One measured run of `kind` ('qiao' or 'hand') on fresh simulators: wall time, run time, this
 * process's CPU, the calls each system saw, and (`check`) what YonBIP holds afterwards.
 */
export async function side(kind, { customers, concurrency, latencyMs = 0, inProcess = false, check = false }) {
  const CUSTOMERS = customers;
  const CONCURRENCY = concurrency;
  const sims = await simulators({ customers, latencyMs, inProcess });
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


/** Whether two warm-up sides wrote the same records through the same calls; throws when not. */
export function assertSameWork(q, h) {
  const same = q.content.size === h.content.size && [...q.content].every(([code, v]) => h.content.get(code) === v);
  if (!same) {
    const diff = [...q.content].find(([code, v]) => h.content.get(code) !== v);
    throw new Error(`the two sides wrote different records, e.g. ${diff?.[0]}:\n qiao ${diff?.[1]}\n hand ${h.content.get(diff?.[0])}`);
  }
  if (JSON.stringify(q.calls) !== JSON.stringify(h.calls)) {
    throw new Error(`the two sides made different calls: qiao ${JSON.stringify(q.calls)}, hand-written ${JSON.stringify(h.calls)}`);
  }
}
