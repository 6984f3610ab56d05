import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import type { Problem } from '../errors/errors.js';
import type { Limits } from '../contracts/limits.js';
import type { ConnectorManifest, OperationManifest, StreamManifest } from '../manifest/manifest-types.js';
import type { DeclarativeMapper, MappingSpec } from '../mapping/declarative.mapper.js';

/** A scheme file as written (after `${env:…}` resolution). */
export interface SchemeFile {
  version: 1;
  id: string;
  name?: string;
  description?: string;
  source: {
    connector: string;
    stream: string;
    connection?: Record<string, unknown>;
    params?: Record<string, unknown>;
    detail?: boolean;
    incremental?: boolean | { lookback?: string | number };
    limits?: Limits;
  };
  target: {
    connector: string;
    operation: string;
    connection?: Record<string, unknown>;
    limits?: Limits;
    /** Top-level target fields an update never clears (see the scheme schema). */
    keepWhenEmpty?: string[];
    /** What to do about records deleted in the source. @default 'report' */
    onDelete?: 'report' | 'stop';
  };
  mapping: MappingSpec;
  schedule?: { cron: string; timezone?: string };
  alerts?: {
    webhooks?: { type: 'dingtalk' | 'wecom' | 'feishu'; url: string; secret?: string }[];
    deadLetterThreshold?: number;
    pageUrl?: string;
  };
}

/** Finds connector plugins by id. The CLI's resolver maps `okki` → `@qiao/connector-okki`. */
export interface ConnectorResolver {
  resolve(id: string): Promise<ConnectorPlugin | undefined>;
  /** Ids of the connectors that can be resolved, for "did you mean". */
  known(): string[];
  /** The npm package that would provide connector `id`. */
  packageName(id: string): string;
}

export interface ResolvedEndpoint {
  plugin: ConnectorPlugin;
  manifest: ConnectorManifest;
  connection: Record<string, unknown>;
  limits: Limits;
  /** Secret values of this connection (for redaction). */
  secrets: string[];
}

export interface LoadedScheme {
  file: string;
  scheme: SchemeFile;
  source: ResolvedEndpoint & {
    stream: StreamManifest;
    params: Record<string, unknown>;
    detail: boolean;
    incremental: boolean;
    lookbackMs: number;
  };
  target: ResolvedEndpoint & { operation: OperationManifest };
  mapper: DeclarativeMapper;
  /** Checks a mapped payload against the operation's input schema; `[]` when it passes. */
  checkPayload(payload: unknown): Problem[];
  /** Things that work but should be fixed (a literal secret in a file meant to be shared). */
  warnings: Problem[];
  /** Every secret value in the scheme, for redaction. */
  secrets: string[];
}
