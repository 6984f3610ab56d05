export {
  YonbipSandbox,
  startYonbipSandbox,
  type SandboxRequest,
  type YonbipCodePlan,
  type YonbipFaultKind,
  type YonbipPlatformCode,
  type YonbipQuota,
  type YonbipSandboxApi,
  type YonbipSandboxCounters,
  type YonbipSandboxOptions,
} from './yonbip-sandbox.js';
export {
  MerchantStore,
  YONBIP_DEFAULT_ORG,
  YONBIP_SANDBOX_CUSTOMER_CLASS,
  YONBIP_SANDBOX_ORG,
  type Multilingual,
  type SandboxCustomerClass,
  type SandboxMerchant,
  type SandboxOrg,
  type SeedMerchantInput,
  type TenantSetup,
} from './yonbip-data.js';
