export {
  YonbipSandbox,
  startYonbipSandbox,
  type SandboxRequest,
  type YonbipFaultKind,
  type YonbipSandboxApi,
  type YonbipSandboxCounters,
  type YonbipSandboxOptions,
} from './yonbip-sandbox.js';
export { MerchantStore, YONBIP_DEFAULT_ORG, type Multilingual, type SandboxMerchant, type SeedMerchantInput } from './yonbip-data.js';
