import 'reflect-metadata';
import { plugin } from './register.js';

export { plugin, register } from './register.js';
export { diagnoses } from './diagnoses.js';
export { manifest } from './manifest.js';
export { YonbipConnectionCheck } from './check.js';
export {
  MERCHANT_DETAIL_API,
  MERCHANT_SAVE,
  MerchantSaveOperation,
  merchantSaveManifest,
  type MerchantListPage,
  type MerchantListRow,
  type Multilingual,
} from './operations/merchant-save.operation.js';
export { MerchantStopOperation, STOP_API, UNSTOP_API } from './operations/merchant-stop.operation.js';
export { sign, signedTokenQuery } from './transport/sign.js';
export {
  DEFAULT_DATA_CENTER_URL,
  GATEWAY_LOOKUP_PATH,
  TOKEN_PATH,
  YONBIP_LABEL,
  YONBIP_SYSTEM,
  YonbipClient,
  classifyBusiness,
  clearGatewayCache,
  envelope,
  type YonbipCallOptions,
  type YonbipConnection,
  type YonbipEndpoints,
  type YonbipEnvelope,
} from './transport/yonbip-client.js';

export default plugin;
