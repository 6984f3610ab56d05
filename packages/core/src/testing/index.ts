import 'reflect-metadata';
// Runner-agnostic helpers only: this entry must load under `node --test` as well as vitest.
// The vitest-only contract (describeConnectorContract) is `@qiao/core/testing/vitest`.
export * from './memory-connector.js';
export * from './connector-contract-checks.js';
export * from './kit.js';
