const limits = {
  type: 'object',
  title: 'limits of the connection (override the manifest defaults)',
  additionalProperties: false,
  properties: {
    // The limiter's own floor (one request per 1000 seconds or minutes), so `validate` refuses what `run` would.
    requestsPerSecond: { type: 'number', minimum: 0.001 },
    requestsPerMinute: { type: 'number', minimum: 0.001 },
    concurrency: { type: 'integer', minimum: 1 },
  },
} as const;

const webhook = {
  type: 'object',
  required: ['type', 'url'],
  additionalProperties: false,
  properties: {
    type: { enum: ['dingtalk', 'wecom', 'feishu'] },
    url: { type: 'string', format: 'uri' },
    secret: { type: 'string', 'x-secret': true },
  },
} as const;

/** The scheme file schema (JSON Schema 2020-12). Connection and params blocks are checked against the manifests. */
export const schemeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://qiao.dev/schemas/scheme.json',
  title: 'qiao integration scheme (集成方案)',
  type: 'object',
  required: ['version', 'id', 'source', 'target', 'mapping'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    version: { const: 1 },
    id: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,79}$' },
    name: { type: 'string' },
    description: { type: 'string' },
    source: {
      type: 'object',
      required: ['connector', 'stream'],
      additionalProperties: false,
      properties: {
        connector: { type: 'string' },
        stream: { type: 'string' },
        connection: { type: 'object' },
        params: { type: 'object' },
        detail: { type: 'boolean' },
        incremental: {
          anyOf: [
            { type: 'boolean' },
            {
              type: 'object',
              additionalProperties: false,
              properties: { lookback: { type: ['string', 'number'] } },
            },
          ],
        },
        limits,
      },
    },
    target: {
      type: 'object',
      required: ['connector', 'operation'],
      additionalProperties: false,
      properties: {
        connector: { type: 'string' },
        operation: { type: 'string' },
        connection: { type: 'object' },
        limits,
        keepWhenEmpty: {
          type: 'array',
          uniqueItems: true,
          items: { type: 'string', minLength: 1 },
          description:
            'Top-level target fields (mapping targets up to the first dot, e.g. website, address) that an update never clears. ' +
            'By default, when a field the mapping filled in the last delivery yields nothing now (emptied in the source), the update clears it in the target; ' +
            'list a field here to keep what the target holds instead. Inserts always leave empty fields out.',
          examples: [['website']],
        },
        onDelete: {
          enum: ['report', 'stop'],
          default: 'report',
          description:
            'What to do about records deleted in the source, when its stream can list them (its manifest declares `deletions`). ' +
            'Both values read the records deleted in the same window as the run (OKKI: company/list with removed=1). ' +
            '`report` (default): nothing is written; the run report counts them and `qiao overview` lists them. ' +
            '`stop`: the target record qiao delivered for the key is stopped/disabled (YonBIP merchant/stop), and started again ' +
            'if the source record comes back; a key qiao never delivered is only reported. Needs an operation that declares `remove`.',
        },
      },
    },
    mapping: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        anyOf: [
          { type: 'string' },
          { type: 'number' },
          { type: 'boolean' },
          { type: 'object', required: ['value'], additionalProperties: false, properties: { value: {} } },
        ],
      },
    },
    schedule: {
      type: 'object',
      required: ['cron'],
      additionalProperties: false,
      properties: { cron: { type: 'string' }, timezone: { type: 'string' } },
    },
    alerts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        webhooks: { type: 'array', items: webhook },
        deadLetterThreshold: { type: 'integer', minimum: 1 },
        pageUrl: { type: 'string' },
      },
    },
  },
} as const;
