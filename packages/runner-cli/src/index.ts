export { connectorResolver, allConnectors } from './lib/resolver.js';
export { diagnose, diagnoser, genericDiagnoses, type Diagnose } from './lib/diagnose.js';
