import { project } from '../../vitest.shared.js';

// Most runner-cli tests start the built `qiao` binary and the simulators as child processes: several
// per test, each paying node's start-up. On a 2-core machine running other suites beside them a test
// of ~10 s alone can take 40 s, so they get a minute and a half before they count as hung.
export default project('runner-cli', { test: { testTimeout: 90_000, hookTimeout: 90_000 } });
