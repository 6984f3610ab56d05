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
export { MERCHANT_BATCH_SAVE, MerchantBatchSaveOperation } from './operations/merchant-batch-save.operation.js';
export { MERCHANT_NEWINSERT, MerchantNewinsertOperation, resubmitCheckKey } from './operations/merchant-newinsert.operation.js';
export { BATCH_DETAIL_API, BATCH_SAVE_API, INDEX_PAGE_SIZE, MerchantIndex, NEWINSERT_API, NEWLIST_API, NEWUPDATE_API } from './operations/merchant-v2.js';
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
