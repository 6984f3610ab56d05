// Core loads reflect-metadata before tsyringe; the company stream's class still carries decorators.
import 'reflect-metadata';
import { plugin } from './register.js';

export { plugin, register } from './register.js';
export { diagnoses } from './diagnoses.js';
export { manifest, manifestUrl } from './manifest.js';
export { OkkiConnectionCheck } from './check.js';
export {
  COMPANY_STREAM,
  CompanyStream,
  DETAIL_NOT_FOUND,
  incrementalWindow,
  type IncrementalWindow,
} from './streams/company.stream.js';
export {
  OKKI_DEFAULT_BASE_URL,
  OKKI_DEFAULT_TOKEN_TTL_MS,
  OKKI_LABEL,
  OKKI_NOT_FOUND,
  OkkiClient,
  OkkiClientToken,
  classifyOkki,
  type OkkiCompanyListQuery,
  type OkkiCompanyPage,
  type OkkiConnectionConfig,
} from './transport/okki-client.js';
export { normalizeCompany, toId, toIdList, toTelPair } from './streams/company.normalize.js';
export { formatChinaDate, formatChinaTime, parseChinaTime } from './transport/china-time.js';

export default plugin;
