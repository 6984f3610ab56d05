import { project } from '../../vitest.shared.js';

// The reliability suite (npm run test:chaos): faults, kills, bad input and secrets, against the simulators.
export default project('chaos', { test: { testTimeout: 600_000, hookTimeout: 120_000 } });
