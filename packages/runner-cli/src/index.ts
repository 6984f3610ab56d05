export { connectorResolver, allConnectors } from './lib/resolver.js';
export { diagnose } from './lib/diagnose.js';
