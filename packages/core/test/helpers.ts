import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorResolver } from '../src/index.js';
import { memoryConnector } from '../src/testing/index.js';

export const memoryResolver: ConnectorResolver = {
  resolve: async (id) => (id === 'memory' ? memoryConnector : undefined),
  known: () => ['memory'],
  packageName: (id) => `@qiao/connector-${id}`,
};

export function tempDir(prefix = 'qiao-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeTemp(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export const goodScheme = `version: 1
id: mem-test
source:
  connector: memory
  stream: records
  params: { count: 10 }
target:
  connector: memory
  operation: records.save
mapping:
  code: id
  name.zh_CN: name
  amount: amount
`;
