import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAjv, type JsonSchema } from '@qiao/core';
import { manifest, merchantSaveManifest } from '../src/index.js';

// The platform's field table for merchant/save (字段 | 字段名称 | 类型 | 配置值).
const table = readFileSync(new URL('./fixtures/merchant-save.fields.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => /^\w+ \| /.test(l))
  .map((l) => l.split('|').map((s) => s.trim()));

describe('manifest', () => {
  const input = merchantSaveManifest.input;
  const props = input.properties ?? {};

  it('declares merchant.save with its upsert lookup', () => {
    expect(manifest).toMatchObject({ id: 'yonbip', name: '用友 YonBIP', streams: [] });
    expect(merchantSaveManifest).toMatchObject({
      id: 'merchant.save',
      label: '客户档案保存',
      api: '/yonbip/digitalModel/merchant/save',
      method: 'POST',
      upsert: { key: 'code', lookup: '/yonbip/digitalModel/merchant/list' },
    });
  });

  it('has every field of the platform table with its label and configured value', () => {
    expect(table.length).toBeGreaterThan(60);
    expect(table[0]?.[0]).toBe('attachmentGroupId');
    expect(table.at(-1)?.[0]).toBe('_status');
    for (const [field, label, , value] of table) {
      const schema = props[field!] as JsonSchema | undefined;
      expect(schema, field).toBeDefined();
      expect(schema?.title, field).toBe(label);
      if (field === 'code') expect(schema?.examples).toEqual([value]);
      else if (field === 'merchantOptions') expect(schema?.default).toBe(true);
      else if (field === 'createOrg' || field === 'customerClass') {
        // The seed tenant's ids are examples, never defaults: borrowed, they fail every insert of another tenant.
        expect(schema?.examples, field).toEqual([value]);
        expect(schema?.default, field).toBeUndefined();
      }
      else if (value) expect(schema?.default, field).toBe(value);
      else expect(schema?.default, field).toBeUndefined();
    }
  });

  it('validates payloads: multilingual name with zh_CN, ids as digit strings, _status', () => {
    const validate = createAjv().compile(input);
    const org = '1870412293664489473';
    expect(validate({ code: 'a', name: { zh_CN: '甲' }, createOrg: org })).toBe(true);
    expect(validate({ code: 'a', name: { zh_CN: '甲' } })).toBe(false);
    expect(validate({ code: 'a', name: '甲', createOrg: org })).toBe(false);
    expect(validate({ code: 'a', name: { en_US: 'A' }, createOrg: org })).toBe(false);
    expect(validate({ name: { zh_CN: '甲' }, createOrg: org })).toBe(false);
    expect(validate({ code: 'a', name: { zh_CN: '甲' }, createOrg: 1481709712348020742 })).toBe(false);
    expect(validate({ code: 'a', name: { zh_CN: '甲' }, createOrg: '14817097123480207x' })).toBe(false);
    expect(validate({ code: 'a', name: { zh_CN: '甲' }, createOrg: org, _status: 'Delete' })).toBe(false);
    expect(validate({ code: 'a', name: { zh_CN: '甲' }, createOrg: org, merchantOptions: 'false', _status: 'Update' })).toBe(true);
    expect(validate({ code: 'a', name: { zh_CN: '甲' }, createOrg: org, nmae: 'typo' })).toBe(false);
  });

  it('lets the mapping fill the business details (merchantAppliedDetail) with the documented fields', () => {
    const validate = createAjv().compile(input);
    const base = { code: 'a', name: { zh_CN: '甲' }, createOrg: '1870412293664489473' };
    expect(validate({ ...base, merchantAppliedDetail: { professSalesman: '1870412293664489999', taxRate: '1568679441441228607', stopstatus: false } })).toBe(true);
    expect(validate({ ...base, merchantAppliedDetail: { professSalesman: 1870412293664489999 } })).toBe(false);
    expect(validate({ ...base, merchantAppliedDetail: 'salesman' })).toBe(false);
    expect(validate({ ...base, merchantRole: { merchantOptions: true, businessRole: '1' }, merchantsManager: { fullName: '张三' } })).toBe(true);
  });

  it('accepts either connection mode and marks the secret', () => {
    const validate = createAjv({ useDefaults: true }).compile(manifest.connection);
    const tenant: Record<string, unknown> = { tenantId: 't', appKey: 'k', appSecret: 's' };
    expect(validate(tenant)).toBe(true);
    expect(tenant.dataCenterUrl).toBe('https://apigateway.yonyoucloud.com');
    expect(validate({ gatewayUrl: 'https://g/iuap-api-gateway', tokenUrl: 'https://t/iuap-api-auth', appKey: 'k', appSecret: 's' })).toBe(true);
    expect(validate({ gatewayUrl: 'https://g/iuap-api-gateway', appKey: 'k', appSecret: 's' })).toBe(false);
    expect(validate({ tenantId: 't', appKey: 'k' })).toBe(false);
    expect(manifest.connection.properties?.appSecret?.['x-secret']).toBe(true);
    expect(manifest.limits).toEqual({ requestsPerSecond: 10, concurrency: 4 });
  });
});
