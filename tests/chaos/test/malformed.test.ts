import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@qiao/core';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import {
  BIP_SECRET,
  OKKI_SECRET,
  TEMPLATE,
  compare,
  findSecrets,
  qiao,
  removeDir,
  stackLines,
  startMangleProxy,
  templateEnv,
  tempDir,
  type MangleProxy,
  type QiaoResult,
} from './helpers.js';

const CUSTOMERS = 1500;
const SEED = 20_241_128;

const json = (body: unknown) => ({ status: 200, type: 'application/json; charset=utf-8', body: JSON.stringify(body) });
const html = { status: 200, type: 'text/html; charset=utf-8', body: '<!DOCTYPE html><html><head><title>系统维护中</title></head><body><h1>系统维护中，请稍后再试</h1></body></html>' };

describe('malformed answers: HTML pages, truncated JSON, wrong envelopes, plain-text 非法token', () => {
  let okki: OkkiSandbox | undefined;
  let bip: YonbipSandbox | undefined;
  const proxies: MangleProxy[] = [];
  const dir = tempDir('qiao-malformed-');
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await okki?.stop();
    await bip?.stop();
    removeDir(dir);
  });

  it('a success envelope without the list, in the middle of a read, does not end the read (nor move the cursor past unread customers)', async () => {
    const o = await startOkkiSandbox({ customers: 500, seed: SEED + 7, clientSecret: OKKI_SECRET });
    const b = await startYonbipSandbox({ appSecret: BIP_SECRET });
    let spoil = 1;
    const p = await startMangleProxy(
      o.url,
      [
        {
          // Page 3 of 5 is answered once with code 200 and no data, as a broken gateway might.
          match: (method, path, query) => method === 'GET' && path === '/v1/company/list' && query.get('start_index') === '3' && spoil-- > 0,
          rate: 1,
          answers: [json({ code: 200, message: 'success' })],
        },
      ],
      seededRandom(SEED),
    );
    try {
      const env = templateEnv({ url: p.url, credentials: o.credentials }, b);
      const state = join(dir, 'state-list');
      const r = await qiao(['run', TEMPLATE, '--state', state, '--json'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(p.spoiled).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ counts: { read: 500, inserted: 500 } });
      const result = compare(o, b);
      expect(result.missing).toEqual([]);
      expect(result.stale).toEqual([]);
    } finally {
      await p.stop();
      await o.stop();
      await b.stop();
    }
  });

  it('never crashes, prints no stack trace, and delivers every customer exactly once after at most one rerun', async () => {
    okki = await startOkkiSandbox({
      customers: CUSTOMERS,
      seed: SEED,
      // Both come with HTTP 200: a gateway's HTML page, and a JSON body cut in half.
      faultRate: 0.06,
      faultKinds: ['html', 'truncated'],
      clientSecret: OKKI_SECRET,
    });
    bip = await startYonbipSandbox({
      faultRate: 0.06,
      // html: HTTP 502 nginx page (not applied); truncated: applied, answer cut; plain-token: HTTP 200 text 非法token.
      faultKinds: ['html', 'truncated', 'plain-token'],
      appSecret: BIP_SECRET,
      random: seededRandom(SEED),
    });
    // Wrong envelopes: the request reaches the simulator (and is applied), the answer is replaced.
    const okkiProxy = await startMangleProxy(
      okki.url,
      [
        {
          match: (method, path) => method === 'GET' && path === '/v1/company/list',
          rate: 0.03,
          answers: [
            json({ code: 200, message: 'success' }), // success without data
            json({ code: 200, message: 'success', data: { totalItem: 1500 } }), // data without the list
            json({ message: 'ok', result: true }), // no code at all
            json([]), // not an object
            html, // an HTML page under HTTP 200
            { status: 200, type: 'text/plain; charset=utf-8', body: 'OK' },
          ],
        },
        {
          match: (method, path) => method === 'GET' && path === '/v1/company/info',
          rate: 0.03,
          answers: [
            json({ code: 200, message: 'success' }),
            json({ code: 200, message: 'success', data: [] }), // OKKI's empty data, under a success code
            json({ message: 'ok', result: true }),
            json([]),
            html,
            { status: 200, type: 'text/plain; charset=utf-8', body: 'OK' },
          ],
        },
      ],
      seededRandom(SEED + 1),
    );
    const gatewayPrefix = new URL(bip.gatewayUrl).pathname;
    const bipProxy = await startMangleProxy(
      bip.url,
      [
        {
          match: (method, path) => method === 'POST' && path === `${gatewayPrefix}/yonbip/digitalModel/merchant/save`,
          rate: 0.03,
          answers: [json({ success: true }), json([]), json({ code: '200', message: '操作成功', data: null }), html],
        },
        {
          match: (method, path) => method === 'POST' && path === `${gatewayPrefix}/yonbip/digitalModel/merchant/list`,
          rate: 0.03,
          answers: [json({ success: true, data: {} }), json([]), html, { status: 200, type: 'text/plain', body: 'Service busy' }],
        },
      ],
      seededRandom(SEED + 2),
    );
    proxies.push(okkiProxy, bipProxy);
    const state = join(dir, 'state');
    const env = templateEnv(
      { url: okkiProxy.url, credentials: okki.credentials },
      { gatewayUrl: bipProxy.url + gatewayPrefix, tokenUrl: bipProxy.url + new URL(bip.tokenUrl).pathname, credentials: bip.credentials },
    );

    const runs: QiaoResult[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await qiao(['run', TEMPLATE, '--state', state, i === 0 ? '--json' : '--quiet'], { env });
      runs.push(r);
      expect([0, 1, 3], `exit ${r.code}: ${r.stderr.slice(-2000)}`).toContain(r.code);
      expect(stackLines(r.stderr)).toEqual([]);
      if (i === 0) {
        const report = JSON.parse(r.stdout) as { status: string; counts: Record<string, number>; fatal?: { message: string; hint?: string } };
        if (r.code === 3) expect(report.fatal?.message, 'exit 3 names what stopped the run').toMatch(/OKKI|YonBIP/);
      } else {
        expect(r.stdout).toBe('');
        if (r.code === 3) expect(r.stderr).toMatch(/stopped: .*(OKKI|YonBIP)/);
      }
      if (r.code === 0) break;
    }
    const last = runs[runs.length - 1]!;
    const result = compare(okki, bip);
    console.log(
      `malformed: runs ${runs.map((r) => `exit ${r.code}`).join(', ')} · OKKI faults ${okki.counters.faults} + ${okkiProxy.spoiled} wrong envelopes · ` +
        `BIP faults ${bip.counters.faults} + ${bipProxy.spoiled} wrong envelopes · inserted ${bip.counters.inserts} · missing ${result.missing.length} · duplicates ${result.duplicates.length} · stale ${result.staleCount}`,
    );
    expect(last.code, last.stderr.slice(-2000)).toBe(0);
    expect(okki.counters.faults).toBeGreaterThan(20);
    expect(bip.counters.faults).toBeGreaterThan(20);
    expect(okkiProxy.spoiled).toBeGreaterThan(10);
    expect(bipProxy.spoiled).toBeGreaterThan(10);
    expect(result.duplicates).toEqual([]);
    expect(result.missing).toEqual([]);
    expect(result.stale).toEqual([]);
    expect(result.extra).toEqual([]);
    expect(result.merchants).toBe(CUSTOMERS);

    const texts = Object.fromEntries(runs.flatMap((r, i) => [[`run ${i} stdout`, r.stdout], [`run ${i} stderr`, r.stderr]]));
    expect(findSecrets([OKKI_SECRET, BIP_SECRET], { texts, dirs: [state] })).toEqual([]);
  });
});
