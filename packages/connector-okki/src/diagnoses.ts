import type { Diagnosis } from '@qiao/core';
import { DETAIL_NOT_FOUND } from './streams/company.stream.js';

/** What OKKI's errors mean for the user and what to do; shown by the CLI next to the error. */
export const diagnoses: readonly Diagnosis[] = [
  {
    reason: /^okki\.(auth$|invalid_client)/,
    hint: 'OKKI refused the credentials: check OKKI_CLIENT_ID and OKKI_CLIENT_SECRET (the app in OKKI open platform, scope company).',
  },
  {
    reason: 'okki.rate_limited',
    hint: 'OKKI rate limit (HTTP 429): lower OKKI_REQUESTS_PER_SECOND / OKKI_CONCURRENCY (source.limits in the scheme).',
  },
  {
    // A core reason, explained here because its cause is OKKI data: the template maps code ← serial_id,
    // else OKKI-<company_id>.
    reason: 'target.key_collision',
    hint:
      'Two OKKI customers map to one customer code: a 公司编号 (serial_id) used twice, or a serial_id equal to another customer\'s OKKI-<company_id>. ' +
      'Give the refused customer (the first one named) its own serial_id in OKKI, then `qiao run`: it reads the edited customer and replaces this dead letter ' +
      '(`qiao queue retry` alone would send the old code again and be refused again).',
  },
  { reason: DETAIL_NOT_FOUND, hint: 'Deleted in OKKI between the list and the detail call: nothing to do; it is skipped.' },
];
