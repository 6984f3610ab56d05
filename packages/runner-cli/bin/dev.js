#!/usr/bin/env -S node --conditions=@qiao/source
// Dev entry: runs the TS sources of this package and (through the "@qiao/source" export
// condition) of the workspace packages it imports, with no build step.
process.env.TSX_TSCONFIG_PATH ??= new URL('../../../tsconfig.dev.json', import.meta.url).pathname;
await import('reflect-metadata');
const { execute } = await import('@oclif/core');

await execute({ development: true, dir: import.meta.url });
