export {
  startYonbipSandbox,
  type Multilingual,
  type SandboxMerchant,
  type SandboxRequest,
  type SeedMerchantInput,
  type YonbipFaultKind,
  type YonbipSandboxApi,
  type YonbipSandbox,
  type YonbipSandboxCounters,
  type YonbipSandboxOptions,
} from './yonbip-sandbox.js';
