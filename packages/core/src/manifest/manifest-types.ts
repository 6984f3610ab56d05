import type { Limits } from '../contracts/limits.js';

/** A JSON Schema (2020-12) with qiao's annotations: `title` is the field label, `x-secret` marks secrets. */
export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  'x-secret'?: boolean;
  [keyword: string]: unknown;
};

/** A source stream (API asset, read side). */
export interface StreamManifest {
  id: string;
  /** The platform's name for it, e.g. 客户列表查询(更新列表). */
  label: string;
  description?: string;
  /** The HTTP path it lists, for documentation (`qiao connectors describe`); absent for a source that is no HTTP API. */
  api?: string;
  /** The HTTP method of `api`. */
  method?: 'GET' | 'POST';
  /** Request params; `title` = 字段名称, `default` = 配置值. */
  params: JsonSchema;
  primaryKey: string;
  /** Cursor field for incremental reads. */
  cursor?: { field: string; format: string; timezone?: string };
  /** Per-record detail call (the platform's info_api / info_key). */
  detail?: { api: string; key: string; label?: string };
  /**
   * The stream can also list the records deleted in the system within a read's window
   * (`Source.readDeleted`), so a scheme's `target.onDelete` can act on them.
   * @example { "label": "已删除客户 (removed=1)" }
   */
  deletions?: { label: string; description?: string };
  /** One record as the stream yields it (list row merged with detail). */
  record: JsonSchema;
}

/** A target operation (API asset, write side). */
export interface OperationManifest {
  id: string;
  label: string;
  description?: string;
  /** The HTTP path it writes to, for documentation; absent for a target that is no HTTP API (a file). */
  api?: string;
  /** The HTTP method of `api`. */
  method?: 'GET' | 'POST';
  /** The payload the operation takes; mapped payloads are validated against it. */
  input: JsonSchema;
  /** How the operation decides insert vs update. */
  upsert?: { key: string; lookup?: string };
  /**
   * The operation can stop (disable) a record it wrote, and start it again (`Remover`, registered
   * under `removerToken(id)`), for a scheme's `target.onDelete: stop`.
   * @example { "api": "/yonbip/digitalModel/merchant/stop", "restore": "/yonbip/digitalModel/merchant/unstop", "label": "客户停用" }
   */
  remove?: { api?: string; restore?: string; label: string; description?: string };
  /**
   * The operation writes several records per call ({@link Target.writeBatch}); the executor hands it at
   * most `maxSize` at once.
   * @example { "maxSize": 100 }
   */
  batch?: { maxSize: number };
}

export interface ConnectorManifest {
  id: string;
  name: string;
  version: string;
  description?: string;
  /** Connection settings; secret fields carry `"x-secret": true`. */
  connection: JsonSchema;
  limits: Limits;
  streams: StreamManifest[];
  operations: OperationManifest[];
}
