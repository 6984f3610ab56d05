import jsonata from 'jsonata';
import { RecordError, type HttpRequest, type Target, type TargetPayload, type WriteContext, type WriteResult } from '@qiao/core';
import { compilePath, type CompiledPath } from '../json-path.js';
import type { RestOperation, RestRequest } from '../manifest/rest-manifest-types.js';
import { toId } from '../normalize.js';
import { fillMap, type TemplateScope } from '../template.js';
import type { RestClient } from '../transport/rest-client.js';

/**
 * A write operation declared in a REST manifest: upsert by a lookup call. With the id the key was
 * written under before (`knownId`), it updates at once; otherwise it looks the key up (the lookup
 * runs before every insert, so a write repeated after a lost answer or a crash finds the record it
 * made and updates it rather than inserting a second one), then inserts or updates. Bodies are the
 * declared JSONata expressions over `{payload, key, found}`, or the payload itself.
 */
export class RestWriteTarget implements Target {
  private readonly matches: CompiledPath;
  private readonly resultId: CompiledPath | undefined;
  private readonly bodies = new Map<RestRequest, jsonata.Expression>();

  constructor(
    private readonly client: RestClient,
    private readonly op: RestOperation,
  ) {
    this.matches = compilePath(op.lookup.records);
    this.resultId = op.resultId ? compilePath(op.resultId) : undefined;
    for (const r of [op.insert, op.update, op.lookup.request]) if (r.body) this.bodies.set(r, jsonata(r.body));
  }

  async write(payload: TargetPayload, ctx: WriteContext): Promise<WriteResult> {
    const key = payload[this.op.key];
    if (key === undefined || key === null || key === '') {
      throw new RecordError(`${this.client.label} ${this.op.id}: the payload has no ${this.op.key} (the upsert key)`, {
        system: this.client.system,
        reason: 'mapping.missing_key',
        hint: `map ${this.op.key} in the scheme's mapping`,
      });
    }
    let found: { id: string } | undefined = ctx.knownId ? { id: ctx.knownId } : undefined;
    if (!found) {
      found = await this.lookup(payload, String(key), ctx.signal);
      if (found) await ctx.checkFound?.(found);
    }
    const scope: TemplateScope = { payload, key: String(key), found };
    if (found) {
      const res = await this.client.request(await this.build(this.op.update, scope, `${this.op.id}/update`, true), ctx.signal);
      return { outcome: 'updated', id: this.idOf(res.json) ?? found.id };
    }
    const res = await this.client.request(await this.build(this.op.insert, scope, `${this.op.id}/insert`, false), ctx.signal);
    const id = this.idOf(res.json);
    return id === undefined ? { outcome: 'inserted' } : { outcome: 'inserted', id };
  }

  /** The record the target holds under `key`, if any. */
  private async lookup(payload: TargetPayload, key: string, signal: AbortSignal): Promise<{ id: string } | undefined> {
    const req = await this.build(this.op.lookup.request, { payload, key }, `${this.op.id}/lookup`, true);
    const res = await this.client.requestOrNotFound(req, signal);
    if (!res) return undefined;
    const found = this.matches.all(res.json).flatMap((m) => (Array.isArray(m) ? m : [m])) as Record<string, unknown>[];
    if (found.length > 1) {
      throw new RecordError(`${this.client.label} ${this.op.id}: ${found.length} records answer to ${this.op.key} ${JSON.stringify(key)}; qiao will not pick one`, {
        system: this.client.system,
        reason: 'target.ambiguous_key',
        hint: `make ${this.op.key} unique in ${this.client.label}, or narrow the lookup query`,
      });
    }
    const id = toId(found[0]?.[this.op.lookup.id]);
    return typeof id === 'string' && id !== '' ? { id } : undefined;
  }

  private idOf(json: unknown): string | undefined {
    const id = this.resultId ? toId(this.resultId.first(json)) : undefined;
    return typeof id === 'string' && id !== '' ? id : undefined;
  }

  private async build(r: RestRequest, scope: TemplateScope, name: string, idempotent: boolean): Promise<HttpRequest> {
    const s = { ...this.client.templateScope, ...scope };
    const method = r.method ?? 'GET';
    const expr = this.bodies.get(r);
    const json = method === 'GET' ? undefined : expr ? ((await expr.evaluate(scope)) as unknown) : scope.payload;
    const headers = r.headers ? Object.fromEntries(Object.entries(fillMap(r.headers, s)).map(([k, v]) => [k, String(v)])) : undefined;
    return {
      method,
      url: this.client.url(r.path, s),
      query: fillMap(r.query, s),
      ...(headers ? { headers } : {}),
      ...(json !== undefined ? { json } : {}),
      // a PUT to a known id is safe to repeat; a POST insert is not (its outcome is then found by the lookup)
      idempotent: idempotent || method === 'GET' || method === 'PUT',
      name,
    };
  }
}
