import { defaultServerConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

/** Resolve workspace packages to their TS sources (exports["@qiao/source"]) so tests need no prior build. */
const conditions = ['@qiao/source', ...defaultServerConditions];

export function project(name: string, extra: UserWorkspaceConfig = {}) {
  return defineProject({
    ...extra,
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      // tsyringe throws at import time unless the Reflect polyfill is loaded first
      setupFiles: ['reflect-metadata'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      // oclif's Config.load() (NODE_ENV=test) registers tsx to load src/commands natively
      env: { TSX_TSCONFIG_PATH: fileURLToPath(new URL('./tsconfig.dev.json', import.meta.url)) },
      ...extra.test,
    },
  });
}
