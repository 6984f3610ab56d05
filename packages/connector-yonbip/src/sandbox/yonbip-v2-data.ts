import { isRow, parseBody, Refusal, type Envelope, type MerchantStore, type Row, type SandboxMerchant } from './yonbip-data.js';

/** newlist's documented maximum page size (shared/api/yonbip.md "newlist"). */
const NEWLIST_MAX_PAGE = 5000;

/**
 * The V2 customer APIs of the sandbox (shared/api/yonbip.md "Customer (merchant) APIs"), on the same
 * customers and rules as the classic ones ({@link MerchantStore}):
 * - `merchant/newlist`: `data` is a bare array (no total), names as `simplifiedName`, org and class as id + code;
 * - `merchant/idempotent/newinsert`: `{"data":{resubmitCheckKey,…}}`; the same key answers the first result again;
 * - `merchant/newupdate`: top-level body, matched by `id`, else by `code`;
 * - `batch/merchant/save`: `{"data":[…]}`, each record applied on its own. One record answers the documented
 *   single customer object; several answer as the sibling batch APIs do (`count`, `sucessCount` (sic),
 *   `failCount`, `messages:[{key: code, message}]`, `infos:[saved customer…]`), since the notes do not
 *   document that shape for this API;
 * - `merchant/newBatchDetail`: an array of `{code|id}`, answered with the full records found.
 */
export class MerchantV2Api {
  /** resubmitCheckKey → the first success answer's data. */
  private readonly submitted = new Map<string, Row[]>();

  constructor(private readonly store: MerchantStore) {}

  newlist(body: string): Envelope {
    return refusing(() => {
      const q = body.trim() === '' ? {} : parseBody(body);
      if (!isRow(q)) throw new Refusal('请求参数格式错误');
      const pageIndex = Math.max(1, Math.floor(Number(q.pageIndex ?? 1)) || 1);
      const pageSize = Math.floor(Number(q.pageSize ?? 500)) || 500;
      if (pageSize < 1 || pageSize > NEWLIST_MAX_PAGE) throw new Refusal(`pageSize必须在1到${NEWLIST_MAX_PAGE}之间`);
      let rows = this.store.all();
      if (q.code !== undefined && q.code !== null && q.code !== '') rows = rows.filter((m) => m.code === String(q.code));
      if (q.id !== undefined && q.id !== null && q.id !== '') rows = rows.filter((m) => m.id === String(q.id));
      if (typeof q.name === 'string' && q.name !== '') rows = rows.filter((m) => m.name.zh_CN === q.name);
      const page = rows.slice((pageIndex - 1) * pageSize, pageIndex * pageSize).map((m) => this.v2Row(m));
      return { code: '200', message: '处理成功', data: page };
    });
  }

  newinsert(body: string): Envelope {
    try {
      const parsed = parseBody(body);
      if (!isRow(parsed) || !isRow(parsed.data)) throw new Refusal('请求参数data不能为空');
      const data = parsed.data;
      const key = typeof data.resubmitCheckKey === 'string' ? data.resubmitCheckKey : undefined;
      if (key !== undefined && key.length > 32) throw new Refusal('resubmitCheckKey长度不能超过32');
      const first = key === undefined ? undefined : this.submitted.get(key);
      if (first) return { code: '200', message: '操作成功', data: first } as Envelope;
      const m = this.store.insert(this.classic(data, 'Insert'));
      const answer = [{ id: m.id, code: m.code }];
      if (key !== undefined) this.submitted.set(key, answer);
      return { code: '200', message: '操作成功', data: answer };
    } catch (error) {
      // The documented failure shape of newinsert: a numeric 0 code and null data.
      if (error instanceof Refusal) return { code: 0, message: error.message, data: null };
      throw error;
    }
  }

  newupdate(body: string): Envelope {
    try {
      const data = parseBody(body);
      if (!isRow(data)) throw new Refusal('请求参数格式错误');
      for (const field of ['code', 'name', 'createOrgCode', 'enterpriseNature']) {
        if (data[field] === undefined || data[field] === null || data[field] === '') throw new Refusal(`参数[${field}]不能为空`);
      }
      const id = data.id !== undefined && data.id !== null && data.id !== '' ? String(data.id) : this.store.byCode(String(data.code))?.id;
      if (id === undefined) throw new Refusal(`客户档案不存在，编码[${String(data.code)}]`);
      const m = this.store.update({ ...this.classic(data, 'Update'), id });
      return { code: '200', message: '操作成功', data: [{ id: m.id, code: m.code }] };
    } catch (error) {
      if (error instanceof Refusal) return { code: 0, message: error.message, data: null };
      throw error;
    }
  }

  batchSave(body: string): Envelope {
    let records: Row[];
    try {
      const parsed = parseBody(body);
      if (!isRow(parsed) || !Array.isArray(parsed.data) || parsed.data.length === 0) throw new Refusal('请求参数data不能为空');
      records = parsed.data.map((r) => (isRow(r) ? r : {}));
    } catch (error) {
      // The only error the page shows.
      if (error instanceof Refusal) return { code: 999, message: '服务端逻辑异常' };
      throw error;
    }
    const infos: SandboxMerchant[] = [];
    const messages: Array<{ key: string; message: string }> = [];
    for (const r of records) {
      try {
        infos.push(this.batchRecord(r));
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        messages.push({ key: String(r.code ?? ''), message: error.message });
      }
    }
    if (records.length === 1 && infos[0]) return { code: 200, message: '操作成功', data: infos[0] };
    if (records.length === 1) return { code: 999, message: messages[0]?.message ?? '服务端逻辑异常' };
    return {
      code: 200,
      message: messages.length ? '部分成功' : '操作成功',
      data: { count: records.length, sucessCount: infos.length, failCount: messages.length, messages, infos },
    };
  }

  batchDetail(body: string): Envelope {
    return refusing(() => {
      const q = parseBody(body);
      if (!Array.isArray(q)) throw new Refusal('请求参数必须为数组');
      const all = this.store.all();
      const found: SandboxMerchant[] = [];
      for (const item of q) {
        if (!isRow(item)) continue;
        const m = item.id !== undefined && item.id !== null ? all.find((x) => x.id === String(item.id)) : all.find((x) => x.code === String(item.code ?? ''));
        if (m) found.push(m);
      }
      return { code: '200', message: '操作成功', data: found };
    });
  }

  /** One record of batch/merchant/save, in its documented shape. */
  private batchRecord(r: Row): SandboxMerchant {
    for (const field of ['_status', 'code', 'org_code', 'name', 'merchantAppliedDetail']) {
      if (r[field] === undefined || r[field] === null || r[field] === '') throw new Refusal(`参数[${field}]不能为空`);
    }
    if (r.customerClass_code === undefined && r.customerClassErpCode === undefined) throw new Refusal('参数[customerClass_code]不能为空');
    if (!isRow(r.name) || typeof r.name.zh_CN !== 'string') throw new Refusal('客户名称(name.zh_CN)不能为空');
    const status = r._status;
    const { org_code, customerClass_code, customerClassErpCode: _e, _status, ...rest } = r;
    const data: Row = { ...rest, createOrg: this.orgId(String(org_code)), customerClass: this.classId(String(customerClass_code)) };
    if (status === 'Insert') return this.store.insert(data);
    if (status !== 'Update') throw new Refusal(`_status必须为Insert或Update，实际为[${String(status)}]`);
    if (data.merchantApplyRanges !== undefined) throw new Refusal('更新客户时不能传适用组织(merchantApplyRanges)');
    const id = data.id !== undefined && data.id !== null && data.id !== '' ? String(data.id) : this.store.byCode(String(data.code))?.id;
    if (id === undefined) throw new Refusal(`客户档案不存在，编码[${String(data.code)}]`);
    return this.store.update({ ...data, id });
  }

  /** A newinsert/newupdate body as the classic save takes it. */
  private classic(data: Row, status: 'Insert' | 'Update'): Row {
    const { resubmitCheckKey: _k, createOrgCode, customerClassCode, name, merchantApplyRanges: _r, blank: _b, enterpriseNature: _n, ...rest } = data;
    if (!isRow(name) || typeof name.simplifiedName !== 'string' || name.simplifiedName === '') throw new Refusal('客户名称不能为空!');
    if (typeof createOrgCode !== 'string' || createOrgCode === '') throw new Refusal('管理组织编码(createOrgCode)不能为空');
    const out: Row = { ...rest, name: { zh_CN: name.simplifiedName }, _status: status };
    if (status === 'Insert' || createOrgCode !== undefined) out.createOrg = this.orgId(createOrgCode);
    if (typeof customerClassCode === 'string') out.customerClass = this.classId(customerClassCode);
    return out;
  }

  private orgId(code: string): string {
    const org = this.store.tenant.orgs.find((o) => o.code === code);
    if (!org) throw new Refusal(`管理组织编码[${code}]不存在`);
    return org.id;
  }

  private classId(code: string): string {
    const cls = this.store.tenant.customerClasses.find((c) => c.code === code);
    if (!cls) throw new Refusal(`客户分类编码[${code}]不存在`);
    return cls.id;
  }

  private v2Row(m: SandboxMerchant): Row {
    const org = this.store.tenant.orgs.find((o) => o.id === m.createOrg);
    const cls = this.store.tenant.customerClasses.find((c) => c.id === m.customerClass);
    return {
      id: m.id,
      code: m.code,
      name: { simplifiedName: m.name.zh_CN },
      createOrgId: m.createOrg,
      createOrgCode: org?.code,
      belongOrgId: m.createOrg,
      belongOrgCode: org?.code,
      customerClassId: m.customerClass,
      customerClassCode: cls?.code,
      stopStatus: false,
      createTime: m.createTime,
      modifyTime: m.modifyTime,
    };
  }
}

function refusing(run: () => Envelope): Envelope {
  try {
    return run();
  } catch (error) {
    if (error instanceof Refusal) return { code: '999', message: error.message };
    throw error;
  }
}
