import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@qiao/core';
import { startOkkiSandbox, type OkkiSandbox } from '@qiao/connector-okki/sandbox';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import {
  BIP_SECRET,
  OKKI_SECRET,
  TEMPLATE,
  findSecrets,
  qiao,
  removeDir,
  stackLines,
  startQiao,
  stateFiles,
  templateEnv,
  tempDir,
  until,
  type QiaoResult,
} from './helpers.js';

const SCHEME_ID = 'okki-company-to-yonbip-merchant';
/** Wrong secrets, as distinctive as the right ones. */
const WRONG_OKKI_SECRET = 'okki+Wrong/Secret=0ddba11c0f';
const WRONG_BIP_SECRET = 'bip+Wrong/Secret=5ca1ab1e9b';
const ALL = [OKKI_SECRET, BIP_SECRET, WRONG_OKKI_SECRET, WRONG_BIP_SECRET];

const texts = (runs: QiaoResult[]) =>
  Object.fromEntries(runs.flatMap((r) => [[`qiao ${r.args.join(' ')} stdout`, r.stdout], [`qiao ${r.args.join(' ')} stderr`, r.stderr]]));

describe('secrets: no OKKI client secret or YonBIP app secret in any output, report, log or state file', () => {
  let okki: OkkiSandbox;
  let bip: YonbipSandbox;
  let env: Record<string, string>;
  const dir = tempDir('qiao-secrets-');

  beforeAll(async () => {
    okki = await startOkkiSandbox({ customers: 300, seed: 99, faultRate: 0.1, faultKinds: ['500', '429', 'html'], tokenTtlCalls: 30, clientSecret: OKKI_SECRET });
    bip = await startYonbipSandbox({
      faultRate: 0.1,
      faultKinds: ['500', '310039', 'plain-token', 'truncated'],
      tokenTtlCalls: 30,
      appSecret: BIP_SECRET,
      random: seededRandom(99),
    });
    env = templateEnv(okki, bip, { lookup: true, concurrency: 8 });
  });
  afterAll(async () => {
    await okki?.stop();
    await bip?.stop();
    removeDir(dir);
  });

  it('runs with --debug, then every command that shows state: no secret anywhere', async () => {
    const state = join(dir, 'ok');
    const runs: QiaoResult[] = [];
    const run = async (args: string[]) => {
      const r = await qiao(args, { env });
      runs.push(r);
      expect(stackLines(r.stderr), `qiao ${args.join(' ')}`).toEqual([]);
      return r;
    };
    // While the first run writes, its WAL holds the newest pages: scan the state directory then too.
    const live = startQiao(['run', TEMPLATE, '--state', state, '--debug'], { env });
    let ended = false;
    void live.done.then(() => (ended = true));
    await until(() => ended || bip.counters.inserts >= 100, 120_000, '100 customers saved');
    const stillRunning = !ended;
    const whileRunning = stateFiles(state);
    const liveLeaks = findSecrets(ALL, { dirs: [state] });
    let first = await live.done;
    runs.push(first);
    expect(stackLines(first.stderr)).toEqual([]);
    if (stillRunning) expect(whileRunning).toContain('state.db-wal');
    expect(liveLeaks).toEqual([]);
    // a run whose retries ran out under the fault rate (exit 3) is run again
    for (let i = 0; first.code === 3 && i < 2; i++) first = await run(['run', TEMPLATE, '--state', state, '--debug']);
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    // --debug did log: token refreshes and retries went through the loggers that must redact
    expect(first.stderr).toMatch(/ debug .*retry/);
    expect(bip.merchants()).toHaveLength(300);

    okki.updateCompany(String(okki.companies()[0]!.company_id), { address: '新地址 1 号' });
    let second = await run(['run', TEMPLATE, '--state', state, '--json', '--debug']);
    for (let i = 0; second.code === 3 && i < 2; i++) second = await run(['run', TEMPLATE, '--state', state, '--json', '--debug']);
    expect(second.code, second.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(second.stdout) as { runId: string };

    await run(['preview', TEMPLATE, '--state', state, '--limit', '3', '--debug']);
    await run(['preview', TEMPLATE, '--state', state, '--limit', '3', '--json']);
    await run(['check', TEMPLATE, '--debug']);
    await run(['check', TEMPLATE, '--json']);
    await run(['validate', TEMPLATE, '--json']);
    await run(['overview', TEMPLATE, '--state', state]);
    await run(['overview', TEMPLATE, '--state', state, '--json']);
    await run(['runs', SCHEME_ID, '--state', state, '--json']);
    await run(['runs', SCHEME_ID, '--state', state]);
    await run(['queue', TEMPLATE, '--state', state, '--json']);
    expect(report.runId).toBeTruthy();

    expect(stateFiles(state)).toContain('state.db');
    expect(findSecrets(ALL, { texts: texts(runs), dirs: [state] })).toEqual([]);
  });

  it('a WRONG OKKI client secret: exit 3 naming the setting; neither secret shown, with or without --debug', async () => {
    const state = join(dir, 'wrong-okki');
    const wrong = { ...env, OKKI_CLIENT_SECRET: WRONG_OKKI_SECRET };
    const runs: QiaoResult[] = [];
    for (const args of [
      ['run', TEMPLATE, '--state', state],
      ['run', TEMPLATE, '--state', state, '--debug'],
      ['run', TEMPLATE, '--state', state, '--json'],
      ['check', TEMPLATE],
      ['check', TEMPLATE, '--debug'],
      ['preview', TEMPLATE, '--state', state, '--debug'],
    ]) {
      const r = await qiao(args, { env: wrong });
      runs.push(r);
      const shown = `qiao ${args.join(' ')} → exit ${r.code}\n${r.stderr.slice(-2000)}`;
      expect(r.code, shown).toBe(3);
      expect(r.stderr + r.stdout, shown).toMatch(/OKKI_CLIENT_SECRET|clientSecret/);
      if (!args.includes('--debug')) expect(stackLines(r.stderr), shown).toEqual([]);
    }
    expect(findSecrets(ALL, { texts: texts(runs), dirs: [state] })).toEqual([]);
  });

  it('a WRONG YonBIP app secret: exit 3 naming the setting; neither secret shown, with or without --debug', async () => {
    const state = join(dir, 'wrong-bip');
    const wrong = { ...env, YONBIP_APP_SECRET: WRONG_BIP_SECRET };
    const runs: QiaoResult[] = [];
    for (const args of [
      ['run', TEMPLATE, '--state', state, '--limit', '20'],
      ['run', TEMPLATE, '--state', state, '--debug', '--limit', '20'],
      ['run', TEMPLATE, '--state', state, '--json', '--limit', '20'],
      ['check', TEMPLATE],
      ['check', TEMPLATE, '--debug'],
      ['queue', TEMPLATE, '--state', state, '--json'],
      ['overview', TEMPLATE, '--state', state],
    ]) {
      const r = await qiao(args, { env: wrong });
      runs.push(r);
      const shown = `qiao ${args.join(' ')} → exit ${r.code}\n${r.stderr.slice(-2000)}`;
      if (args[0] === 'run' || args[0] === 'check') {
        expect(r.code, shown).toBe(3);
        expect(r.stderr + r.stdout, shown).toMatch(/YONBIP_APP_SECRET|appSecret/);
      }
      if (!args.includes('--debug')) expect(stackLines(r.stderr), shown).toEqual([]);
    }
    expect(stateFiles(state)).toContain('state.db');
    expect(findSecrets(ALL, { texts: texts(runs), dirs: [state] })).toEqual([]);
  });
});
