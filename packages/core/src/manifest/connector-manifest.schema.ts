/**
 * The meta-schema every connector's manifest.json is validated against (JSON Schema 2020-12).
 * A manifest is the connector's API assets: its connection settings, limits, streams and operations.
 */
const jsonSchemaObject = { type: 'object' } as const;

export const connectorManifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://qiao.dev/schemas/connector-manifest.json',
  title: 'qiao connector manifest',
  description: 'What a qiao connector offers: its connection settings, limits, streams (read) and operations (write). Put "$schema": "<path to node_modules>/@qiao/core/schemas/connector-manifest.schema.json" first so editors complete it.',
  type: 'object',
  required: ['id', 'name', 'version', 'connection', 'limits', 'streams', 'operations'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', description: 'the meta-schema this file follows, for editors: @qiao/core/schemas/connector-manifest.schema.json' },
    id: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', description: 'connector id used in scheme files' },
    name: { type: 'string', minLength: 1, description: 'the system as people call it (小满 OKKI CRM)' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+', description: 'the connector\'s version (semver)' },
    description: { type: 'string' },
    connection: {
      ...jsonSchemaObject,
      description: 'JSON Schema of a scheme\'s connection block; mark secrets with "x-secret": true and label every field with "title"',
      required: ['type', 'properties'],
      properties: { type: { const: 'object' }, properties: { type: 'object', additionalProperties: jsonSchemaObject } },
    },
    limits: {
      type: 'object',
      description: 'default limits of a connection; a scheme may lower them',
      additionalProperties: false,
      properties: {
        requestsPerSecond: { type: 'number', exclusiveMinimum: 0 },
        requestsPerMinute: { type: 'number', exclusiveMinimum: 0 },
        concurrency: { type: 'integer', minimum: 1 },
      },
    },
    streams: {
      type: 'array',
      description: 'what a scheme can read from the system (source side)',
      items: {
        type: 'object',
        required: ['id', 'label', 'params', 'primaryKey', 'record'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z][a-zA-Z0-9_.-]*$' },
          label: { type: 'string' },
          description: { type: 'string' },
          api: { type: 'string', pattern: '^/', description: 'the HTTP path it lists, for documentation; optional (a file or database source has none)' },
          method: { enum: ['GET', 'POST'], description: 'the HTTP method of api; optional' },
          params: { ...jsonSchemaObject, description: 'JSON Schema of the stream params a scheme may set (source.params)' },
          primaryKey: { type: 'string', description: 'the record field that identifies a record (a property of record)' },
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
          record: { ...jsonSchemaObject, description: 'JSON Schema of one record the stream yields' },
        },
      },
    },
    operations: {
      type: 'array',
      description: 'what a scheme can write to the system (target side)',
      items: {
        type: 'object',
        required: ['id', 'label', 'input'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z][a-zA-Z0-9_.-]*$' },
          label: { type: 'string' },
          description: { type: 'string' },
          api: { type: 'string', pattern: '^/', description: 'the HTTP path it writes to, for documentation; optional (a file target has none)' },
          method: { enum: ['GET', 'POST'], description: 'the HTTP method of api; optional' },
          input: { ...jsonSchemaObject, description: 'JSON Schema of the payload a scheme\'s mapping must produce' },
          upsert: {
            type: 'object',
            required: ['key'],
            additionalProperties: false,
            properties: { key: { type: 'string' }, lookup: { type: 'string' } },
          },
          remove: {
            type: 'object',
            required: ['label'],
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
