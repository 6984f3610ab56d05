import { isQiaoError, type PreflightContext, type PreflightFinding } from '@qiao/core';
import type { YonbipClient } from '../transport/yonbip-client.js';

/** 业务单元列表（树）查询: the check of `createOrg`. */
export const ORG_TREE_API = '/yonbip/digitalModel/orgunit/querytree';
/** 客户分类树查询: the check of `customerClass`. */
export const CLASS_TREE_API = '/yonbip/digitalModel/custcategory/tree';

type Row = Record<string, unknown>;

const HINT_VERSION =
  'this tenant does not offer this endpoint: check its path and version in YonBIP 开放平台 → API 文档 (the classic merchant/save|list|detail do not appear in current catalogues and may be retired for a tenant; the V2 set is merchant/newlist, batch/merchant/save, idempotent/newinsert, newupdate); YONBIP_API (connection `api`) chooses v2, the default, or classic';

/**
 * What `qiao check` verifies for merchant.save beyond the credentials:
 * - each API the operation calls is registered on the tenant's gateway (a fake-token probe: 310036
 *   means registered, 310404 not);
 * - the management org (`createOrg`) exists and is enabled (`orgunit/querytree`), when the mapping sets it
 *   as a constant;
 * - the customer class (`customerClass`) exists (`custcategory/tree`), when the mapping sets it as a constant.
 * An API that cannot answer (not authorised, not registered) makes its finding "not checked", not a failure of the thing checked.
 */
export async function merchantSavePreflight(client: YonbipClient, apis: string[], ctx: PreflightContext): Promise<PreflightFinding[]> {
  const findings: PreflightFinding[] = [];
  for (const api of apis) findings.push(await probeApi(client, api, ctx.signal));
  const org = ctx.constants.createOrg;
  if (org !== undefined) findings.push(await checkOrg(client, String(org), ctx.signal));
  const cls = ctx.constants.customerClass;
  if (cls !== undefined) findings.push(await checkClass(client, String(cls), ctx.signal));
  return findings;
}

async function probeApi(client: YonbipClient, api: string, signal?: AbortSignal): Promise<PreflightFinding> {
  const method = api.endsWith('/merchant/detail') ? 'GET' : 'POST';
  const subject = `API ${api}`;
  const answer = await client.probe(api, method, signal);
  if (answer.registered === true) return { ok: true, subject, message: 'registered on the gateway' };
  if (answer.registered === false) {
    return { ok: false, subject, message: `not registered on this tenant's gateway (${answer.message}, code 310404)`, hint: HINT_VERSION, reason: 'yonbip.310404' };
  }
  return { ok: true, subject, message: `not checked: the gateway answered ${answer.code} (${answer.message}) to a probe` };
}

async function checkOrg(client: YonbipClient, id: string, signal?: AbortSignal): Promise<PreflightFinding> {
  const subject = `createOrg ${id}`;
  const where = 'find the id of the management org (管理组织, a 业务单元) in YonBIP 组织管理 → 业务单元, and set YONBIP_CREATE_ORG to it';
  let tree: unknown;
  try {
    tree = await client.post<unknown>(ORG_TREE_API, {}, { idempotent: true, signal });
  } catch (error) {
    return notChecked(subject, ORG_TREE_API, error);
  }
  const org = findInTree(tree, id);
  if (!org) return { ok: false, subject, message: `no organisation with this id in the tenant (${ORG_TREE_API})`, hint: where, reason: 'yonbip.org_missing' };
  const name = nameOf(org.name);
  if (org.enable !== undefined && String(org.enable) !== '1') {
    return { ok: false, subject, message: `organisation ${name} (${String(org.code)}) is not enabled (enable ${String(org.enable)})`, hint: where, reason: 'yonbip.org_disabled' };
  }
  return { ok: true, subject, message: `organisation ${name} (${String(org.code)}) exists` };
}

async function checkClass(client: YonbipClient, id: string, signal?: AbortSignal): Promise<PreflightFinding> {
  const subject = `customerClass ${id}`;
  let tree: unknown;
  try {
    // The body shape of YonBuilder callers (fine-lab JSTest2_2): a condition on the class's id.
    tree = await client.post<unknown>(CLASS_TREE_API, { condition: { simpleVOs: [{ field: 'id', op: 'eq', value1: id }] } }, { idempotent: true, signal });
  } catch (error) {
    return notChecked(subject, CLASS_TREE_API, error);
  }
  const cls = findInTree(tree, id);
  if (!cls) {
    return {
      ok: false,
      subject,
      message: `no customer class with this id in the tenant (${CLASS_TREE_API})`,
      hint: 'find the id of the customer class (客户分类) in YonBIP 客户分类 (数字化建模 → 客商管理), and set YONBIP_CUSTOMER_CLASS to it',
      reason: 'yonbip.class_missing',
    };
  }
  return { ok: true, subject, message: `customer class ${nameOf(cls.name)} (${String(cls.code)}) exists` };
}

function notChecked(subject: string, api: string, error: unknown): PreflightFinding {
  if (!isQiaoError(error) || error.code === 'QIAO_RETRYABLE') throw error;
  return { ok: true, subject, message: `not checked: ${api} answered ${error.reason ?? error.code}` };
}

/** The node with this id in a tree answer (`data` a list of nodes with `children`), or undefined. */
function findInTree(tree: unknown, id: string): Row | undefined {
  const stack: unknown[] = Array.isArray(tree) ? [...tree] : tree ? [tree] : [];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const row = node as Row;
    if (String(row.id) === id) return row;
    if (Array.isArray(row.children)) stack.push(...row.children);
  }
  return undefined;
}

function nameOf(name: unknown): string {
  if (typeof name === 'string') return name;
  if (name && typeof name === 'object') return String((name as Row).zh_CN ?? (name as Row).simplifiedName ?? '');
  return '';
}
