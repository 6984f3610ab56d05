export * from './define-connector.js';
export * from './connect.js';
export * from './duplicate-sdk.js';
export { SDK_MARK, sdkIdentity, sdkOf, type SdkIdentity } from './sdk.js';
export * from './discover.js';
export * from './load-plugin.js';
