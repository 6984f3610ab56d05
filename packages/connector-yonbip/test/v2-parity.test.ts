import { afterEach, describe, expect, it } from 'vitest';
import { RecordError, removerToken, silentLogger, targetToken, type BatchItem, type BatchResult, type Remover, type Target, type WriteContext, type WriteResult } from '@qiao/core';
import { YONBIP_SANDBOX_CUSTOMER_CLASS, YONBIP_SANDBOX_ORG, startYonbipSandbox, type YonbipSandbox, type YonbipSandboxOptions } from '../src/sandbox/index.js';
import { connect, customer, writeCtx } from './helpers.js';

/**
 * The V2 operations behave as merchant.save does (collisions-clears.test.ts, coding-rule.test.ts):
 * a customer found by lookup is checked before it is written, clears go out as JSON null on an
 * update, and the code a coding rule made is what updates are sent with.
 */

let sb: YonbipSandbox | undefined;
afterEach(async () => {
  await sb?.stop();
  sb = undefined;
});

async function start(options: YonbipSandboxOptions = {}): Promise<YonbipSandbox> {
  sb = await startYonbipSandbox(options);
  return sb;
}

const cust = (i: number, extra: Record<string, unknown> = {}) => customer(i, { customerClass: YONBIP_SANDBOX_CUSTOMER_CLASS, ...extra });
const refusal = () => new RecordError('taken by okki-1', { reason: 'target.key_collision' });

/** Writes one record through the operation, as a batch of one for merchant.batchSave. */
async function writeOne(t: Target, payload: Record<string, unknown>, ctx: WriteContext): Promise<WriteResult> {
  if (!t.writeBatch) return t.write(payload, ctx);
  const [r] = await t.writeBatch([{ payload, ctx }]);
  if (!r) throw new Error('no result');
  if (!r.ok) throw r.error;
  return r.result;
}

for (const op of ['merchant.batchSave', 'merchant.newinsert'] as const) {
  const target = (s: YonbipSandbox): Target => connect(s).container.resolve<Target>(targetToken(op));

  describe(`${op}: a customer found in the index is checked before it is written`, () => {
    it('when core says it belongs to another source record, nothing is saved; the record is that one’s dead letter only', async () => {
      const s = await start();
      const first = await writeOne(target(s), cust(1), writeCtx('okki-1'));
      const before = structuredClone(s.merchantByCode('C1'));
      const t = target(s); // a new run: the index is loaded from newlist
      const seen: Array<{ id: string; code?: string | undefined }> = [];
      const no = refusal();
      const ctx = writeCtx('okki-2', {
        checkFound: async (found) => {
          seen.push(found);
          throw no;
        },
      });
      const writes = s.counters.batchSave + s.counters.newupdate + s.counters.newinsert;
      await expect(writeOne(t, cust(1, { name: { zh_CN: '别家客户' } }), ctx)).rejects.toBe(no);
      expect(seen).toEqual([{ id: first.id, code: 'C1' }]);
      expect(s.counters.batchSave + s.counters.newupdate + s.counters.newinsert).toBe(writes);
      expect(s.merchantByCode('C1')).toEqual(before);
      expect(s.merchants()).toHaveLength(1);
    });

    it('a found customer core lets through is updated, once', async () => {
      const s = await start();
      s.seedMerchant({ code: 'C4', name: '旧名' });
      const checked: string[] = [];
      const r = await writeOne(target(s), cust(4), writeCtx('k4', { checkFound: async (f) => void checked.push(f.code ?? '') }));
      expect(r.outcome).toBe('updated');
      expect(checked).toEqual(['C4']);
      expect(s.merchantByCode('C4')?.name.zh_CN).toBe('客户4');
      expect(s.merchants()).toHaveLength(1);
    });
  });

  describe(`${op}: clears`, () => {
    it('sends each clear as JSON null on an update, which empties the field; an insert ignores clears', async () => {
      const s = await start();
      const t = target(s);
      const filled = cust(2, { website: 'https://w.example', address: { zh_CN: '地址' }, shortname: { zh_CN: '简称' } });
      const clears = ['website', 'address', 'shortname', 'name', 'code'];
      const inserted = await writeOne(t, filled, writeCtx('k2', { clears }));
      expect(inserted.outcome).toBe('inserted');
      expect(s.merchantByCode('C2')).toMatchObject({ website: 'https://w.example', shortname: { zh_CN: '简称' } });
      const updated = await writeOne(target(s), cust(2), writeCtx('k2', { knownId: inserted.id, knownCode: inserted.targetCode, clears }));
      expect(updated.outcome).toBe('updated');
      const m = s.merchantByCode('C2')!;
      expect(m).not.toHaveProperty('website');
      expect(m).not.toHaveProperty('address');
      expect(m).not.toHaveProperty('shortname');
      // identity and required fields are never cleared
      expect(m.name.zh_CN).toBe('客户2');
    });

    it('without clears an emptied field keeps YonBIP’s value (target.keepWhenEmpty)', async () => {
      const s = await start();
      const inserted = await writeOne(target(s), cust(3, { website: 'https://keep.example' }), writeCtx('k3'));
      await writeOne(target(s), cust(3), writeCtx('k3', { knownId: inserted.id, knownCode: inserted.targetCode, clears: [] }));
      expect(s.merchantByCode('C3')?.website).toBe('https://keep.example');
    });
  });

  describe(`${op}: onDelete: stop`, () => {
    it('declares a remover: merchant/stop stops the customer it wrote, merchant/unstop starts it again', async () => {
      const s = await start();
      const { id } = await writeOne(target(s), cust(9), writeCtx('k9'));
      const remover = connect(s).container.resolve<Remover>(removerToken(op));
      const rctx = { key: 'k9', knownId: id!, payload: { createOrg: YONBIP_SANDBOX_ORG }, signal: new AbortController().signal, logger: silentLogger };
      expect(await remover.remove(rctx)).toEqual({ outcome: 'stopped' });
      expect(s.merchantByCode('C9')?.stopStatus).toBe(true);
      expect(await remover.restore!(rctx)).toEqual({ outcome: 'started' });
      expect(s.merchantByCode('C9')?.stopStatus).toBe(false);
    });
  });

  describe(`${op}: coding rules (编码规则)`, () => {
    it('a regenerated code, then an edit and a rerun with the id map: one YonBIP record, updated by BIP’s code', async () => {
      const s = await start({ codingRule: { prefix: 'KH' } });
      const first = await writeOne(target(s), cust(1), writeCtx('okki-1'));
      expect(first).toEqual({ outcome: 'inserted', id: expect.stringMatching(/^\d{19}$/), targetCode: 'KH000001' });
      expect(s.merchantByCode('C1')).toBeUndefined();
      const second = await writeOne(target(s), cust(1, { website: 'https://moved.example' }), writeCtx('okki-1', { knownId: first.id, knownCode: first.targetCode }));
      expect(second).toEqual({ outcome: 'updated', id: first.id, targetCode: 'KH000001' });
      expect(s.merchants()).toHaveLength(1);
      expect(s.merchantByCode('KH000001')?.website).toBe('https://moved.example');
      expect(s.counters).toMatchObject({ inserts: 1, updates: 1 });
    });

    it('an id map entry without the code (older state): the index gives BIP’s code for the id, one update, nothing refused', async () => {
      const s = await start({ codingRule: { prefix: 'KH' } });
      const { id } = await writeOne(target(s), cust(2), writeCtx('k2'));
      const writes = s.counters.batchSave + s.counters.newupdate;
      const result = await writeOne(target(s), cust(2, { email: 'a@b.cn' }), writeCtx('k2', { knownId: id }));
      expect(result).toEqual({ outcome: 'updated', id, targetCode: 'KH000001' });
      expect(s.counters.batchSave + s.counters.newupdate - writes).toBe(1);
      expect(s.merchants()).toHaveLength(1);
      expect(s.merchantByCode('KH000001')?.email).toBe('a@b.cn');
    });
  });
}

describe('merchant.batchSave: checks inside one batch', () => {
  const batchTarget = (s: YonbipSandbox): Target => connect(s).container.resolve<Target>(targetToken('merchant.batchSave'));

  it('one refused record of a batch is left out of the call; the others are written', async () => {
    const s = await start();
    s.seedMerchant({ code: 'C5', name: '别人的客户' });
    const before = structuredClone(s.merchantByCode('C5'));
    const no = refusal();
    const items: BatchItem[] = [4, 5, 6].map((i) => ({
      payload: cust(i),
      ctx: writeCtx(`k${i}`, { checkFound: async () => { throw no; } }),
    }));
    const results: BatchResult[] = await batchTarget(s).writeBatch!(items);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toEqual({ ok: false, error: no });
    expect(s.merchantByCode('C5')).toEqual(before);
    expect(s.merchants()).toHaveLength(3);
    expect(s.counters.batchSave).toBe(1);
  });

  it('a lost answer under a coding rule: the Insert found by name goes through checkFound before it counts as written', async () => {
    const s = await start({ codingRule: { prefix: 'KH' } });
    const t = batchTarget(s);
    await t.warmUp!(new AbortController().signal);
    s.dropAfterCommit(1);
    const found: string[] = [];
    const [r] = await t.writeBatch!([{ payload: cust(8), ctx: writeCtx('k8', { checkFound: async (f) => void found.push(f.code ?? '') }) }]);
    expect(r).toMatchObject({ ok: true, result: { outcome: 'inserted', targetCode: 'KH000001' } });
    expect(found).toEqual(['KH000001']);
    expect(s.merchants()).toHaveLength(1);
  });
});
