import { describeConnectorContract } from '@qiao/core/testing/vitest';
import plugin from '../src/index.js';

const minimal = { code: 'test202201', name: { zh_CN: '测试客户' }, createOrg: '1870412293664489473', customerClass: '1870412293664489611' };

describeConnectorContract(plugin, {
  connection: { tenantId: 'qiao-demo-tenant', appKey: 'qiao-demo-app', appSecret: 'qiao-demo-secret' },
  samplePayloads: {
    // The V2 operations take merchant.save's fields.
    'merchant.batchSave': [minimal, { ...minimal, createOrg_code: 'qiao-sim', customerClass_code: '01', merchantAppliedDetail: { stopstatus: false } }],
    'merchant.newinsert': [minimal],
    'merchant.save': [
      { code: 'test202201', name: { zh_CN: '测试客户' }, createOrg: '1870412293664489473' },
      {
        code: 'OKKI-10086',
        name: { zh_CN: '上海桥联科技有限公司', en_US: 'Qiao Tech Co., Ltd.' },
        shortname: { zh_CN: '桥联' },
        createOrg: '1481709712348020742',
        customerClass: '1481712151907270669',
        merchantOptions: 'true',
        taxPayingCategories: 0,
        enterpriseNature: '0',
        contactName: '张三',
        contactTel: '021-12345678',
        website: 'https://example.com',
        merchantContacterInfos: [{ fullName: { zh_CN: '张三' }, mobile: '13800000000', isDefault: true }],
        merchantApplyRanges: [{ orgId: '1481709712348020742', rangeType: 1, isCreator: true, isApplied: true }],
        merchantAppliedDetail: { professSalesman: '1481712151907270999', taxRate: '1568679441441228607', stopstatus: false },
      },
    ],
  },
});
