import type { JsonSchema, Limits } from '@qiao/core';

/**
 * A declarative REST connector: what a manifest file (`*.rest.yaml`) says, after validation. Every
 * string marked "template" may hold `{{connection.x}}`, `{{params.x}}`, `{{record.x}}`, `{{key}}`,
 * `{{payload.x}}` or `{{found.x}}` (what each place offers is listed there); a value that is one
 * placeholder alone keeps its type, and a placeholder with no value leaves a query parameter out.
 */
export interface RestManifest {
  /** Editors' schema reference; ignored. */
  $schema?: string;
  /** Names the system in messages and error reasons (`okki` gives `okki.not_found`). */
  id: string;
  name: string;
  version: string;
  description?: string;
  /** Template: the base URL every path is appended to, e.g. `{{connection.baseUrl}}`. */
  baseUrl: string;
  /** JSON Schema of the scheme's connection block; secrets carry `x-secret: true`. */
  connection: JsonSchema;
  limits: Limits;
  auth: RestAuth;
  envelope: RestEnvelope;
  streams: RestStream[];
  operations?: RestOperation[];
}

/** Where a token or key goes on a request. */
export interface RestApply {
  in: 'header' | 'query';
  name: string;
  /** Put before the token, e.g. `"Bearer "`. @default "" */
  prefix?: string;
}

export type RestAuth =
  | { kind: 'none' }
  | { kind: 'api_key'; in: 'header' | 'query'; name: string; value: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string }
  | {
      kind: 'oauth2_client_credentials';
      /** Template, relative to baseUrl or absolute. */
      tokenUrl: string;
      /** `json_then_form`: JSON first; a 400/415 refusal switches to a form body for good. @default form */
      body?: 'json' | 'form' | 'json_then_form';
      /** Template values of the token request body. */
      params: Record<string, string>;
      /** JSONPath of the token in the answer. @default $.access_token */
      tokenPath?: string;
      /** JSONPath of the lifetime in seconds. @default $.expires_in */
      expiresInPath?: string;
      /** Lifetime when the answer gives none, e.g. `8h`. @default 1h */
      defaultLifetime?: string;
      /** @default { in: header, name: Authorization, prefix: "Bearer " } */
      apply?: RestApply;
    }
  | {
      kind: 'signed_token';
      tokenUrl: string;
      /** @default GET */
      method?: 'GET' | 'POST';
      /** Template values; `{{now.ms}}` and `{{now.s}}` give the time. */
      params: Record<string, string>;
      signature: {
        /** Name of the parameter the signature is sent in. @default signature */
        param?: string;
        algorithm: 'hmac-sha256';
        /** Template: the key, e.g. `{{connection.appSecret}}`. */
        key: string;
        /** Which params are signed: all but the signature, sorted by name, as name+value. @default all */
        over?: string[];
        /** @default base64 */
        encoding?: 'base64' | 'hex';
      };
      tokenPath: string;
      expiresInPath?: string;
      /** Unit of the lifetime at expiresInPath. @default s */
      expiresInUnit?: 's' | 'ms';
      defaultLifetime?: string;
      apply: RestApply;
    };

/** One way to recognise an answer. */
export type RestMatcher = string | number | { http: number | number[] | string } | { path: string; in: (string | number | boolean | null)[] };

export interface RestEnvelope {
  /** JSONPath of the status in the body (OKKI `$.code`). Without it, the HTTP status decides. */
  status?: string;
  /** JSONPath(s) of a readable message. */
  message?: string | string[];
  ok?: RestMatcher[];
  notFound?: RestMatcher[];
  tokenExpired?: RestMatcher[];
  rateLimited?: RestMatcher[];
  retry?: RestMatcher[];
  recordError?: RestMatcher[];
  fatal?: RestMatcher[];
  /** What an answer no rule recognises is. @default record_error */
  otherwise?: 'record_error' | 'fatal' | 'retry';
  /** Shown with a fatal answer. */
  fatalHint?: string;
}

export interface RestRequest {
  /** @default GET */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Template, relative to baseUrl. */
  path: string;
  /** Template values; one left without a value is left out. */
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, string>;
  /** A JSONata expression (writes: over `{payload, found, key}`) giving the JSON body. */
  body?: string;
}

export type RestPagination =
  | { kind: 'none' }
  | {
      kind: 'page_number';
      param: string;
      /** First page number; a template like `{{params.start_index}}`. @default 1 */
      start?: string | number;
      size?: { param: string; value: string | number };
      /** JSONPath of the count of all rows of the query. */
      total?: string;
    }
  | { kind: 'offset'; param: string; size: { param: string; value: string | number }; total?: string }
  | { kind: 'cursor'; param: string; next: string }
  | { kind: 'link_header'; rel?: string };

export interface RestStream {
  id: string;
  label: string;
  description?: string;
  request: RestRequest;
  params?: JsonSchema;
  /** JSONPath of the rows in a list answer. */
  records: string;
  primaryKey: string;
  pagination: RestPagination;
  detail?: {
    /** Template with `{{key}}` and `{{record.x}}`. */
    path: string;
    query?: Record<string, string | number | boolean>;
    /** JSONPath of the detail object. @default $ */
    data?: string;
    /** @default detail_wins */
    merge?: 'detail_wins' | 'list_wins' | 'nest';
    /** With `merge: nest`, the field the detail goes under. */
    field?: string;
    label?: string;
  };
  incremental?: {
    cursorField: string;
    /** `YYYY-MM-DD HH:mm:ss`-style tokens, or `iso`, `epoch_ms`, `epoch_s`. */
    format: string;
    /** Fixed offset (`+08:00`) or `UTC`. @default UTC */
    timezone?: string;
    start: { param: string };
    end?: { param: string };
    /** Sent with every windowed request (`time_type: 1`). */
    params?: Record<string, string | number>;
    /** JSONPath of the server's clock in list answers: it ends the window. */
    serverClock?: string;
    /** A full read is a window too, from this moment (in `format`). */
    fullFrom?: string;
  };
  /** Re-list passes until one finds nothing new (core's reader). @default 1 */
  passes?: number;
  normalize?: {
    ids?: string[];
    idLists?: string[];
    numbers?: string[];
    dates?: string[];
    sentinels?: string[];
    pairs?: string[];
    pairLists?: string[];
  };
  /** A JSONata expression applied to each record after normalisation. */
  transform?: string;
  deletions?: { label: string; description?: string; query: Record<string, string | number | boolean> };
  record?: JsonSchema;
}

export interface RestOperation {
  id: string;
  label: string;
  description?: string;
  input: JsonSchema;
  /** The payload field that identifies a record in the target (upsert key). */
  key: string;
  lookup: {
    request: RestRequest;
    /** JSONPath of the matches. */
    records: string;
    /** Field of a match holding its id. */
    id: string;
  };
  insert: RestRequest;
  update: RestRequest;
  /** JSONPath of the written record's id in insert/update answers. */
  resultId?: string;
}
