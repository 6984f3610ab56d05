import type { Diagnosis } from '@qiao/core';

/** What YonBIP's errors mean for the user and what to do; shown by the CLI next to the error. */
export const diagnoses: readonly Diagnosis[] = [
  {
    reason: 'yonbip.999',
    message: '客户名称重复',
    hint: '客户名称重复: the name is already used under another code in YonBIP. Rename one of the two (in OKKI or BIP), then `qiao queue retry <scheme> --all`.',
  },
  {
    reason: 'yonbip.999',
    hint: 'YonBIP rejected the record (999). Read its message, fix the data or the mapping, then `qiao queue retry <scheme>`.',
  },
  {
    // the codes YonBIP's gateway answers when a tenant or an app goes over its quota
    reason: /^yonbip\.(310039|310032|310042|310046|rate_limited)$/,
    hint: 'YonBIP rate limit (310039): lower YONBIP_REQUESTS_PER_SECOND / YONBIP_CONCURRENCY (target.limits in the scheme).',
  },
  {
    reason: 'yonbip.310037',
    hint: 'The app is not authorised for this YonBIP API (310037): in YonBIP 开放平台 → API授权, grant the app (YONBIP_APP_KEY) the API class named in the error, then run again. Nothing was written by the refused calls.',
  },
  {
    reason: 'yonbip.310404',
    hint: 'YonBIP has no such API on this gateway (310404): check gatewayUrl (with its /iuap-api-gateway prefix), then whether this tenant offers the V2 endpoints (merchant/newlist, batch/merchant/save, the default) or only the classic merchant/save|list|detail (开放平台 → API 文档): `qiao check <scheme>` lists which APIs are missing; a tenant with only the classic ones needs YONBIP_API=classic (connection `api: classic`).',
  },
  {
    reason: /^yonbip\.(310043|310071|310072|310076|310077)$/,
    hint: 'YonBIP\'s backend was failing (circuit breaker or backend errors) for longer than the retry budget: run again later; queued records are kept and resumed.',
  },
  {
    reason: /^yonbip\.(310504|310078|202)$/,
    hint: 'YonBIP timed out on a write that may have been applied: the record stays queued and is looked up (by code, then by name) before it is sent again, so the rerun never creates it twice.',
  },
  {
    reason: /^yonbip\.(org_missing|org_disabled)$/,
    hint: 'Set YONBIP_CREATE_ORG to the id of a management org (管理组织, 业务单元) of your own tenant: YonBIP 组织管理 → 业务单元.',
  },
  {
    reason: 'yonbip.class_missing',
    hint: 'Set YONBIP_CUSTOMER_CLASS to the id of a customer class (客户分类) of your own tenant.',
  },
  {
    reason: /^yonbip\.(auth$|100)/,
    hint: 'YonBIP refused the credentials: check YONBIP_APP_KEY and YONBIP_APP_SECRET (self-built app), and YONBIP_TENANT_ID.',
  },
];
