import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyGuard, loadScheme, silentLogger, wireScheme, type Delivered, type HolderQuery, type StateStore, type Target } from '@qiao/core';
import { startYonbipSandbox, type YonbipSandbox } from '@qiao/connector-yonbip/sandbox';
import { connectorResolver } from '../src/lib/resolver.js';
import { processWriteJob, type WriteJobData } from '../src/workers/remote-target.js';
import { simulatorEnv } from './helpers.js';

const TEMPLATE = new URL('../templates/okki-to-yonbip.scheme.yaml', import.meta.url).pathname;
const SCHEME = 'okki-company-to-yonbip-merchant';

/** The id map the workers share, as the guard reads it: rows of delivered records. */
function idMap(rows: Delivered[]): Pick<StateStore, 'holders'> {
  return {
    holders: async (_scheme: string, q: HolderQuery) =>
      rows.filter((d) => (d.targetId !== null && q.targetIds?.includes(d.targetId)) || q.codes?.some((c) => c === d.businessKey || c === d.targetCode)),
  };
}

const job = (items: WriteJobData['items']): Pick<import('bullmq').Job<WriteJobData>, 'data' | 'attemptsStarted' | 'stalledCounter'> => ({
  data: { scheme: SCHEME, runId: 'run-1', items },
  attemptsStarted: 1,
  stalledCounter: 0,
});

for (const api of ['classic', 'v2'] as const) {
  describe(`a write job taken by a worker (YONBIP_API=${api})`, () => {
    let bip: YonbipSandbox;
    let target: Target;
    const okki = { url: 'http://127.0.0.1:9', credentials: { clientId: 'c', clientSecret: 's' } };

    beforeAll(async () => {
      bip = await startYonbipSandbox({});
      const loaded = await loadScheme(TEMPLATE, { resolver: connectorResolver, env: { ...simulatorEnv(okki, bip), YONBIP_API: api } });
      target = wireScheme(loaded, { logger: silentLogger }).target;
    });
    afterAll(async () => {
      await bip?.stop();
    });

    it('a customer its lookup finds that the shared id map ties to another OKKI customer is refused (target.key_collision), not updated', async () => {
      const payload = (name: string, website: string) => ({ code: 'KH-COLLIDE', name: { zh_CN: name }, website, createOrg: bip.orgId, customerClass: bip.customerClassId, merchantOptions: true });
      // OKKI customer 1001 written first
      const [first] = await processWriteJob(target, job([{ payload: payload('甲公司', 'https://a.example'), key: '1001', maybeWritten: false }]));
      expect(first, JSON.stringify(first)).toMatchObject({ ok: true, result: { outcome: 'inserted' } });
      const id = (first as { result: { id: string } }).result.id;
      const before = structuredClone(bip.merchantByCode('KH-COLLIDE'));
      // the id map ties that YonBIP id to 1001, without its code (state written before codes were kept)
      const guard = new KeyGuard({ store: idMap([{ key: '1001', fingerprint: 'f', targetId: id, targetCode: null, businessKey: null }]) as StateStore, scheme: SCHEME, upsertKey: 'code' });

      const [second] = await processWriteJob(target, job([{ payload: payload('乙公司', 'https://b.example'), key: '2002', maybeWritten: false }]), guard);
      expect(second).toMatchObject({ ok: false, error: { kind: 'record', reason: 'target.key_collision' } });
      const message = (second as { error: { message: string } }).error.message;
      expect(message).toContain('2002');
      expect(message).toContain('1001');
      expect(message).toContain(`target id ${id}`);
      expect(bip.merchantByCode('KH-COLLIDE')).toEqual(before);
      expect(bip.merchants()).toHaveLength(1);

      // the same record, its own: written
      const [own] = await processWriteJob(target, job([{ payload: payload('甲公司', 'https://a2.example'), key: '1001', knownId: id, maybeWritten: false }]), guard);
      expect(own, JSON.stringify(own)).toMatchObject({ ok: true, result: { outcome: 'updated', id } });
      expect(bip.merchantByCode('KH-COLLIDE')).toMatchObject({ website: 'https://a2.example' });
    });
  });
}
