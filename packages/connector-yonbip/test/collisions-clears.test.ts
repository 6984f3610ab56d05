import { afterEach, describe, expect, it } from 'vitest';
import { RecordError } from '@qiao/core';
import { startYonbipSandbox, type YonbipSandbox } from '../src/sandbox/index.js';
import { connect, customer, writeCtx } from './helpers.js';

let sb: YonbipSandbox | undefined;
afterEach(async () => {
  await sb?.stop();
  sb = undefined;
});

describe('merchant.save: a customer found by lookup is checked before it is updated', () => {
  it('when core says the found customer belongs to another source record, nothing is saved', async () => {
    sb = await startYonbipSandbox({});
    const { target } = connect(sb);
    const first = await target.write(customer(1), writeCtx('okki-1'));
    const before = structuredClone(sb.merchantByCode('C1'));
    const saves = sb.counters.save;
    const seen: Array<{ id: string; code?: string | undefined }> = [];
    const refusal = new RecordError('taken by okki-1', { reason: 'target.key_collision' });
    const write = target.write({ ...customer(1), name: { zh_CN: '别家客户' } }, writeCtx('okki-2', {
      checkFound: async (found) => {
        seen.push(found);
        throw refusal;
      },
    }));
    await expect(write).rejects.toBe(refusal);
    expect(seen).toEqual([{ id: first.id, code: 'C1' }]);
    expect(sb.counters.save).toBe(saves);
    expect(sb.merchantByCode('C1')).toEqual(before);
  });
});

describe('merchant.save: clears', () => {
  it('sends each clear as JSON null on an update, which empties the field; an insert ignores clears', async () => {
    sb = await startYonbipSandbox({});
    const { target } = connect(sb);
    const filled = { ...customer(2), website: 'https://w.example', address: { zh_CN: '地址' }, shortname: { zh_CN: '简称' } };
    const clears = ['website', 'address', 'shortname', 'name', 'code'];
    const inserted = await target.write(filled, writeCtx('k2', { clears }));
    expect(inserted.outcome).toBe('inserted');
    expect(sb.merchantByCode('C2')).toMatchObject({ website: 'https://w.example', shortname: { zh_CN: '简称' } });
    const updated = await target.write(customer(2), writeCtx('k2', { knownId: inserted.id, knownCode: inserted.targetCode, clears }));
    expect(updated.outcome).toBe('updated');
    const m = sb.merchantByCode('C2')!;
    expect(m).not.toHaveProperty('website');
    expect(m).not.toHaveProperty('address');
    expect(m).not.toHaveProperty('shortname');
    // identity and required fields are never cleared
    expect(m.name.zh_CN).toBe('客户2');
  });
});
