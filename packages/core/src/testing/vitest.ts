// `@qiao/core/testing/vitest`: the static connector contract as vitest suites. Needs vitest installed
// (an optional peer dependency of @qiao/core); the behavioural kit in `@qiao/core/testing` needs none.
export { describeConnectorContract } from './connector-contract.js';
export * from './index.js';
