export {
  OkkiSandbox,
  startOkkiSandbox,
  type OkkiFaultKind,
  type OkkiMutation,
  type OkkiMutationKind,
  type OkkiMutationOptions,
  type OkkiSandboxCounters,
  type OkkiSandboxOptions,
  type OkkiSandboxRequest,
} from './okki-sandbox.js';
export { OKKI_GROUPS, OKKI_TRAIL_STATUSES, OKKI_USERS } from './okki-data.js';
