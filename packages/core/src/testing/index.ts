export * from './memory-connector.js';
export * from './connector-contract.js';
