/**
 * The meta-schema every connector's manifest.json is validated against (JSON Schema 2020-12).
 * A manifest is the connector's API assets: its connection settings, limits, streams and operations.
 */
const jsonSchemaObject = { type: 'object' } as const;

export const connectorManifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://qiao.dev/schemas/connector-manifest.json',
  title: 'qiao connector manifest',
  type: 'object',
  required: ['id', 'name', 'version', 'connection', 'limits', 'streams', 'operations'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', description: 'connector id used in scheme files' },
    name: { type: 'string', minLength: 1 },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+' },
    description: { type: 'string' },
    connection: {
      ...jsonSchemaObject,
      required: ['type', 'properties'],
      properties: { type: { const: 'object' }, properties: { type: 'object', additionalProperties: jsonSchemaObject } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        requestsPerSecond: { type: 'number', exclusiveMinimum: 0 },
        requestsPerMinute: { type: 'number', exclusiveMinimum: 0 },
        concurrency: { type: 'integer', minimum: 1 },
      },
    },
    streams: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'label', 'api', 'method', 'params', 'primaryKey', 'record'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z][a-zA-Z0-9_.-]*$' },
          label: { type: 'string' },
          description: { type: 'string' },
          api: { type: 'string', pattern: '^/' },
          method: { enum: ['GET', 'POST'] },
          params: jsonSchemaObject,
          primaryKey: { type: 'string' },
          cursor: {
            type: 'object',
            required: ['field', 'format'],
            additionalProperties: false,
            properties: { field: { type: 'string' }, format: { type: 'string' }, timezone: { type: 'string' } },
          },
          detail: {
            type: 'object',
            required: ['api', 'key'],
            additionalProperties: false,
            properties: { api: { type: 'string', pattern: '^/' }, key: { type: 'string' }, label: { type: 'string' } },
          },
          deletions: {
            type: 'object',
            required: ['label'],
            additionalProperties: false,
            properties: { label: { type: 'string' }, description: { type: 'string' } },
          },
          record: jsonSchemaObject,
        },
      },
    },
    operations: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'label', 'api', 'method', 'input'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z][a-zA-Z0-9_.-]*$' },
          label: { type: 'string' },
          description: { type: 'string' },
          api: { type: 'string', pattern: '^/' },
          method: { enum: ['GET', 'POST'] },
          input: jsonSchemaObject,
          upsert: {
            type: 'object',
            required: ['key', 'lookup'],
            additionalProperties: false,
            properties: { key: { type: 'string' }, lookup: { type: 'string' } },
          },
          remove: {
            type: 'object',
            required: ['api', 'label'],
            additionalProperties: false,
            properties: {
              api: { type: 'string', pattern: '^/' },
              restore: { type: 'string', pattern: '^/' },
              label: { type: 'string' },
              description: { type: 'string' },
            },
          },
          batch: {
            type: 'object',
            required: ['maxSize'],
            additionalProperties: false,
            properties: { maxSize: { type: 'integer', minimum: 1, maximum: 10000 } },
          },
        },
      },
    },
  },
} as const;
