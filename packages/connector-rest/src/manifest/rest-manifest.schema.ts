/**
 * The JSON Schema (2020-12) of a REST manifest file, checked as a whole by ajv before anything runs.
 * `qiao connectors new <id> --rest` writes it beside a new manifest for editors (`$schema`).
 */
const str = { type: 'string', minLength: 1 } as const;
const templated = { type: ['string', 'number', 'boolean'] } as const;
const duration = { type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?$' } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const templatedMap = { type: 'object', additionalProperties: templated } as const;
const schemaObject = { type: 'object' } as const;

const matcher = {
  anyOf: [
    { type: ['string', 'number'] },
    { type: 'object', required: ['http'], additionalProperties: false, properties: { http: { type: ['integer', 'string', 'array'], items: { type: 'integer' } } } },
    { type: 'object', required: ['path', 'in'], additionalProperties: false, properties: { path: str, in: { type: 'array', minItems: 1 } } },
  ],
} as const;
const matchers = { type: 'array', items: matcher } as const;

const apply = {
  type: 'object',
  required: ['in', 'name'],
  additionalProperties: false,
  properties: { in: { enum: ['header', 'query'] }, name: str, prefix: { type: 'string' } },
} as const;

const request = {
  type: 'object',
  required: ['path'],
  additionalProperties: false,
  properties: {
    method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    path: { type: 'string' },
    query: templatedMap,
    headers: stringMap,
    body: str,
  },
} as const;

const kindOf = (kind: string, required: string[], properties: Record<string, unknown>) => ({
  if: { properties: { kind: { const: kind } }, required: ['kind'] },
  then: { required, properties: { kind: { const: kind }, ...properties }, additionalProperties: false },
});

export const AUTH_KINDS = ['none', 'api_key', 'bearer', 'basic', 'oauth2_client_credentials', 'signed_token'] as const;
export const PAGINATION_KINDS = ['none', 'page_number', 'offset', 'cursor', 'link_header'] as const;

const auth = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: AUTH_KINDS } },
  allOf: [
    kindOf('none', [], {}),
    kindOf('api_key', ['in', 'name', 'value'], { in: { enum: ['header', 'query'] }, name: str, value: str }),
    kindOf('bearer', ['token'], { token: str }),
    kindOf('basic', ['username', 'password'], { username: str, password: { type: 'string' } }),
    kindOf('oauth2_client_credentials', ['tokenUrl', 'params'], {
      tokenUrl: str,
      body: { enum: ['json', 'form', 'json_then_form'] },
      params: stringMap,
      tokenPath: str,
      expiresInPath: str,
      defaultLifetime: duration,
      apply,
    }),
    kindOf('signed_token', ['tokenUrl', 'params', 'signature', 'tokenPath', 'apply'], {
      tokenUrl: str,
      method: { enum: ['GET', 'POST'] },
      params: stringMap,
      signature: {
        type: 'object',
        required: ['algorithm', 'key'],
        additionalProperties: false,
        properties: {
          param: str,
          algorithm: { enum: ['hmac-sha256'] },
          key: str,
          over: { type: 'array', items: str },
          encoding: { enum: ['base64', 'hex'] },
        },
      },
      tokenPath: str,
      expiresInPath: str,
      expiresInUnit: { enum: ['s', 'ms'] },
      defaultLifetime: duration,
      apply,
    }),
  ],
} as const;

const size = { type: 'object', required: ['param', 'value'], additionalProperties: false, properties: { param: str, value: templated } } as const;

const pagination = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: PAGINATION_KINDS } },
  allOf: [
    kindOf('none', [], {}),
    kindOf('page_number', ['param'], { param: str, start: templated, size, total: str }),
    kindOf('offset', ['param', 'size'], { param: str, size, total: str }),
    kindOf('cursor', ['param', 'next'], { param: str, next: str }),
    kindOf('link_header', [], { rel: str }),
  ],
} as const;

const names = { type: 'array', items: str } as const;

const stream = {
  type: 'object',
  required: ['id', 'label', 'request', 'records', 'primaryKey', 'pagination'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[a-z][a-z0-9_.-]*$' },
    label: str,
    description: { type: 'string' },
    request,
    params: schemaObject,
    records: str,
    primaryKey: str,
    pagination,
    detail: {
      type: 'object',
      required: ['path'],
      additionalProperties: false,
      properties: {
        path: str,
        query: templatedMap,
        data: str,
        merge: { enum: ['detail_wins', 'list_wins', 'nest'] },
        field: str,
        label: { type: 'string' },
      },
      if: { properties: { merge: { const: 'nest' } }, required: ['merge'] },
      then: { required: ['field'] },
    },
    incremental: {
      type: 'object',
      required: ['cursorField', 'format', 'start'],
      additionalProperties: false,
      properties: {
        cursorField: str,
        format: str,
        timezone: { type: 'string', pattern: '^(UTC|Z|[+-]\\d{2}:\\d{2})$' },
        start: { type: 'object', required: ['param'], additionalProperties: false, properties: { param: str } },
        end: { type: 'object', required: ['param'], additionalProperties: false, properties: { param: str } },
        params: templatedMap,
        serverClock: str,
        fullFrom: str,
      },
    },
    passes: { type: 'integer', minimum: 1, maximum: 20 },
    normalize: {
      type: 'object',
      additionalProperties: false,
      properties: { ids: names, idLists: names, numbers: names, dates: names, sentinels: names, pairs: names, pairLists: names },
    },
    transform: str,
    deletions: {
      type: 'object',
      required: ['label', 'query'],
      additionalProperties: false,
      properties: { label: str, description: { type: 'string' }, query: templatedMap },
    },
    record: schemaObject,
  },
} as const;

const operation = {
  type: 'object',
  required: ['id', 'label', 'input', 'key', 'lookup', 'insert', 'update'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[a-z][a-z0-9_.-]*$' },
    label: str,
    description: { type: 'string' },
    input: schemaObject,
    key: str,
    lookup: {
      type: 'object',
      required: ['request', 'records', 'id'],
      additionalProperties: false,
      properties: { request, records: str, id: str },
    },
    insert: request,
    update: request,
    resultId: str,
  },
} as const;

export const restManifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'qiao REST manifest',
  type: 'object',
  required: ['id', 'name', 'version', 'baseUrl', 'connection', 'auth', 'envelope', 'streams'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    name: str,
    version: str,
    description: { type: 'string' },
    baseUrl: str,
    connection: { type: 'object', required: ['type'], properties: { type: { const: 'object' }, properties: { type: 'object' } } },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        requestsPerSecond: { type: 'number', exclusiveMinimum: 0 },
        requestsPerMinute: { type: 'number', exclusiveMinimum: 0 },
        concurrency: { type: 'integer', minimum: 1 },
      },
    },
    auth,
    envelope: {
      type: 'object',
      additionalProperties: false,
      properties: {
        status: str,
        message: { anyOf: [str, { type: 'array', items: str }] },
        ok: matchers,
        notFound: matchers,
        tokenExpired: matchers,
        rateLimited: matchers,
        retry: matchers,
        recordError: matchers,
        fatal: matchers,
        otherwise: { enum: ['record_error', 'fatal', 'retry'] },
        fatalHint: str,
      },
    },
    streams: { type: 'array', items: stream },
    operations: { type: 'array', items: operation },
  },
} as const;
