import { project } from '../../vitest.shared.js';

// qiao as its users get it: the tarballs of `npm run pack` installed in a folder outside the repository.
export default project('install', { test: { testTimeout: 600_000, hookTimeout: 600_000 } });
