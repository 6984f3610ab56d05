/**
 * Diagnoses for the errors users meet most, keyed by error reason (and message). Shown in run reports,
 * the run overview and alerts.
 */
export function diagnose(code: string, message = ''): string | undefined {
  if (code === 'yonbip.999' && message.includes('客户名称重复')) {
    return '客户名称重复: the name is already used under another code in YonBIP. Rename one of the two (in OKKI or BIP), then `qiao queue retry <scheme> --all`.';
  }
  if (code === 'yonbip.999') return 'YonBIP rejected the record (999). Read its message, fix the data or the mapping, then `qiao queue retry <scheme>`.';
  if (code === 'yonbip.310039' || code === 'yonbip.310032' || code === 'yonbip.310042' || code === 'yonbip.310046' || code.endsWith('.rate_limited')) {
    return 'YonBIP rate limit (310039): lower YONBIP_REQUESTS_PER_SECOND / YONBIP_CONCURRENCY (target.limits in the scheme).';
  }
  if (code === 'okki.auth' || code.startsWith('okki.invalid_client')) {
    return 'OKKI refused the credentials: check OKKI_CLIENT_ID and OKKI_CLIENT_SECRET (the app in OKKI open platform, scope company).';
  }
  if (code === 'yonbip.auth' || code.startsWith('yonbip.100')) {
    return 'YonBIP refused the credentials: check YONBIP_APP_KEY and YONBIP_APP_SECRET (self-built app), and YONBIP_TENANT_ID.';
  }
  if (code === 'okki.detail_not_found') return 'Deleted in OKKI between the list and the detail call: nothing to do; it is skipped.';
  if (code === 'mapping.error') return 'A mapping expression failed for this record: fix it in the scheme\'s mapping block, then `qiao queue retry <scheme>`.';
  if (code === 'payload.invalid') return 'The mapped payload does not fit the target operation\'s schema: fix the mapping (see `qiao preview <scheme>`), then `qiao queue retry <scheme>`.';
  if (code.endsWith('.network')) return 'The system could not be reached: check the URL and the network; queued writes are kept and resume on the next run.';
  if (code === 'memory.poison') return 'The record is marked poison: fix the cause (acceptPoison: true), then `qiao queue retry <scheme>`.';
  return undefined;
}
