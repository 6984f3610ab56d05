import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '@qiao/core';
import { restManifestSchema } from './manifest/rest-manifest.schema.js';

export interface ScaffoldOptions {
  /** The new connector's id (`crm`): lower-case letters, digits and `-`. */
  id: string;
  /** The folder the connector's folder is made in. @default ./connectors */
  parent?: string;
  /** The connector's own folder, instead of `<parent>/<id>`. */
  dir?: string;
  /** Overwrite files that exist. @default false */
  force?: boolean;
}

/** What {@link scaffoldRestConnector} wrote. */
export interface ScaffoldResult {
  dir: string;
  files: string[];
}

/**
 * Writes a manifest-only connector to `<parent>/<id>/`: a REST manifest with `$schema` (the schema
 * beside it, for editors), an example scheme that reads it into a JSONL file (valid as written: `qiao
 * validate` passes once the variables are set), and a README saying what to change.
 */
export function scaffoldRestConnector(o: ScaffoldOptions): ScaffoldResult {
  if (!/^[a-z][a-z0-9-]*$/.test(o.id)) {
    throw new InputError([{ file: 'argument id', pointer: '', expected: 'lower-case letters, digits and -, starting with a letter (e.g. crm)', found: JSON.stringify(o.id), hint: 'choose an id like my-crm' }]);
  }
  const dir = o.dir !== undefined ? resolve(o.dir) : resolve(o.parent ?? 'connectors', o.id);
  const env = o.id.toUpperCase().replace(/-/g, '_');
  const files: Record<string, string> = {
    'rest-manifest.schema.json': `${JSON.stringify(restManifestSchema, null, 2)}\n`,
    [`${o.id}.rest.yaml`]: manifestText(o.id, env),
    [`${o.id}-to-file.scheme.yaml`]: schemeText(o.id, env),
    'README.md': readmeText(o.id, env),
  };
  const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0 && !o.force) {
    throw new InputError([{ file: dir, pointer: '', expected: 'a folder without these files', found: existing.join(', '), hint: 'choose another id, or pass --force to overwrite them' }]);
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, files: Object.keys(files).map((f) => join(dir, f)) };
}

function manifestText(id: string, env: string): string {
  return `# ${id}: a REST system declared for qiao's rest connector. Every block is described in
# @qiao/connector-rest's README; \`qiao validate ${id}-to-file.scheme.yaml\` checks this file as a whole.
$schema: ./rest-manifest.schema.json
id: ${id}
name: ${id}
version: 0.1.0
description: Customers of ${id}, page by page.
baseUrl: "{{connection.baseUrl}}"

# The scheme's connection block: mark secrets with x-secret.
connection:
  type: object
  additionalProperties: false
  required: [baseUrl, token]
  properties:
    baseUrl: { title: API address, type: string, format: uri }
    token: { title: API token, type: string, minLength: 1, x-secret: true }

limits:
  requestsPerSecond: 5
  concurrency: 2

# none | api_key | bearer | basic | oauth2_client_credentials | signed_token
auth:
  kind: bearer
  token: "{{connection.token}}"

# Where the status is and what its values mean. Without a status path, the HTTP status decides.
envelope:
  status: $.code
  message: $.message
  ok: [0]
  notFound: [404]
  tokenExpired: [{ http: 401 }]
  rateLimited: [{ http: 429 }]

streams:
  - id: customers
    label: Customers
    request:
      method: GET
      path: /customers
      query: { updated_since: "{{params.updated_since}}" }
    params:
      type: object
      additionalProperties: false
      properties:
        page_size: { title: Page size, type: integer, minimum: 1, maximum: 100, default: 50 }
        updated_since: { title: Updated since, type: string }
    records: $.data.items
    primaryKey: id
    # none | page_number | offset | cursor | link_header
    pagination:
      kind: page_number
      param: page
      size: { param: page_size, value: "{{params.page_size}}" }
      total: $.data.total
    incremental:
      cursorField: updated_at
      format: iso
      start: { param: updated_since }
    normalize:
      ids: [id]
    record:
      type: object
      required: [id]
      properties:
        id: { type: string }
        name: { type: string }
        updated_at: { type: string }
`;
}

function schemeText(id: string, env: string): string {
  return `# Reads ${id} customers into a JSONL file: try the manifest on real data before writing anywhere.
#   ${env}_BASE_URL=… ${env}_TOKEN=… qiao validate ${id}-to-file.scheme.yaml && qiao preview ${id}-to-file.scheme.yaml
version: 1
id: ${id}-customers-to-file
source:
  connector: rest
  stream: customers
  connection:
    manifest: ./${id}.rest.yaml
    baseUrl: \${env:${env}_BASE_URL}
    token: \${env:${env}_TOKEN}
  incremental:
    lookback: 10m
target:
  connector: file
  operation: records.append
  connection:
    path: ./${id}-customers.jsonl
mapping:
  id: id
  name: name
  updated_at: updated_at
`;
}

function readmeText(id: string, env: string): string {
  return `# ${id} — a manifest-only qiao connector

- \`${id}.rest.yaml\`: the system, declared (connection, auth, envelope, streams, pagination,
  incremental window, normalisation). \`$schema\` points editors at \`rest-manifest.schema.json\`.
- \`${id}-to-file.scheme.yaml\`: reads the stream into \`${id}-customers.jsonl\`.

Change the manifest to your API (paths, envelope status values, records path, pagination kind), then:

\`\`\`
export ${env}_BASE_URL=https://api.example.com ${env}_TOKEN=…
qiao validate ${id}-to-file.scheme.yaml     # every problem with its JSON pointer and a hint
qiao check ${id}-to-file.scheme.yaml        # one real request
qiao preview ${id}-to-file.scheme.yaml      # a few mapped records, nothing written
qiao run ${id}-to-file.scheme.yaml
\`\`\`

Use the manifest in any scheme with \`connector: rest\` and \`connection.manifest: ./${id}.rest.yaml\`.
The blocks and their limits are described in @qiao/connector-rest's README.
`;
}
