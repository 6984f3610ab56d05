import 'reflect-metadata';

export * from './errors/errors.js';
export * from './contracts/logger.js';
export * from './contracts/source.js';
export * from './contracts/target.js';
export * from './contracts/mapper.js';
export * from './contracts/connector-plugin.js';
export * from './manifest/manifest-types.js';
export * from './executor/limiter.js';
export * from './executor/retry.js';
export * from './http/lossless-json.js';
export * from './http/redact.js';
export * from './http/token-cache.js';
export * from './http/create-client.js';
