/**
 * What a connector knows about one of its errors: what it means for the user and what to do. The CLI
 * shows it next to the error in run reports, `qiao overview`, `qiao queue`, the served page and alerts.
 * A connector lists its diagnoses in {@link ConnectorPlugin.diagnoses}; qiao never names a connector's
 * error codes itself.
 *
 * @example
 * { reason: 'yonbip.999', message: '客户名称重复', hint: 'the name is already used under another code…' }
 */
export interface Diagnosis {
  /**
   * The error reason it explains (`RunReport.errors[].code`, a dead letter's code, `QiaoError.reason`):
   * an exact reason (`'okki.detail_not_found'`) or a pattern tested against it (`/^yonbip\.1000\d$/`).
   */
  reason: string | RegExp;
  /**
   * Only when the error message also contains this text or matches this pattern, for systems that use
   * one code for several causes (YonBIP's 999).
   * @default undefined (any message)
   */
  message?: string | RegExp;
  /** What it means and what to do, in one or two sentences. */
  hint: string;
}

/** The hint of the first diagnosis in `list` that matches `reason` and `message`, if any. */
export function matchDiagnosis(list: readonly Diagnosis[], reason: string, message = ''): string | undefined {
  const test = (p: string | RegExp, text: string, exact: boolean) => (typeof p === 'string' ? (exact ? text === p : text.includes(p)) : p.test(text));
  for (const d of list) {
    if (!test(d.reason, reason, true)) continue;
    if (d.message !== undefined && !test(d.message, message, false)) continue;
    return d.hint;
  }
  return undefined;
}
