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
    reason: /^yonbip\.(auth$|100)/,
    hint: 'YonBIP refused the credentials: check YONBIP_APP_KEY and YONBIP_APP_SECRET (self-built app), and YONBIP_TENANT_ID.',
  },
];
