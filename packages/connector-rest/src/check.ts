import type { ConnectionCheck } from '@qiao/core';
import type { RestManifest } from './manifest/rest-manifest-types.js';
import type { RestClient } from './transport/rest-client.js';

/**
 * `qiao check` for a manifest-declared connection: lists the first page of the first stream (which
 * authenticates first, whatever the auth kind), or, for a manifest with operations only, fetches a
 * token when its auth has a token call.
 */
export class RestConnectionCheck implements ConnectionCheck {
  constructor(
    private readonly client: RestClient,
    private readonly manifest: RestManifest,
  ) {}

  async check(signal?: AbortSignal): Promise<string> {
    const s = this.manifest.streams[0];
    if (s) {
      const res = await this.client.request({ method: s.request.method ?? 'GET', url: this.client.url(s.request.path), name: `${s.id}/list` }, signal);
      return `${this.manifest.name} answered ${s.id} at ${this.client.baseUrl} (HTTP ${res.status})`;
    }
    const op = this.manifest.operations?.[0];
    if (op) {
      // A lookup with an empty key: proves auth and path without touching a record.
      await this.client.requestOrNotFound({ method: 'GET', url: this.client.url(op.lookup.request.path, { payload: {}, key: '' }), name: `${op.id}/lookup` }, signal);
    }
    return `${this.manifest.name} reachable at ${this.client.baseUrl}`;
  }
}
