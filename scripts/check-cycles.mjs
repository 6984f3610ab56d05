#!/usr/bin/env node
// Import cycle check (part of `npm test`): fails when a module of a package's src imports, directly or
// through others, a module that imports it.
//
//   node scripts/check-cycles.mjs            every packages/*/src
//   node scripts/check-cycles.mjs DIR...     those folders only (the test runs it on fixtures)
//
// Every .ts file of a folder is an entry, so index.ts, testing/index.ts, sandbox/index.ts and each oclif
// command (found by oclif at run time, imported by no module) are all covered. Imports that leave the
// folders (another package, node_modules) are not followed: workspace packages cannot import each other
// in a circle (tsc project references refuse it).
//
// Type-only imports (`import type`) count. They cost nothing at run time, but a cycle of types still ties
// two modules together (the issue asks for contracts/ that depend on nothing), and the packages have
// none today, so keeping them at zero is free. Each cycle found says whether it exists at run time or in
// types only, which tells how urgent it is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const dpdmPkg = require.resolve('dpdm/package.json');
const dpdmBin = join(dpdmPkg, '..', JSON.parse(readFileSync(dpdmPkg, 'utf8')).bin.dpdm);

const dirs = (process.argv.length > 2
  ? process.argv.slice(2).map((d) => resolve(d))
  : readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'src'))
).filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
if (dirs.length === 0) {
  console.error('cycle check: no folder to check');
  process.exit(1);
}
const shown = dirs.map((d) => relative(root, d) || '.');

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const include = dirs.map((d) => escape(d.endsWith('/') ? d : `${d}/`)).join('|');

/** dpdm's analysis of the folders: { tree, circulars }, paths relative to the repository. */
function analyse(typesToo) {
  const out = mkdtempSync(join(tmpdir(), 'qiao-cycles-'));
  try {
    const file = join(out, 'dpdm.json');
    const r = spawnSync(
      process.execPath,
      [
        dpdmBin,
        '--no-warning', '--no-tree', '--no-circular', '--no-progress',
        '--context', root,
        '--include', include,
        ...(typesToo ? [] : ['--transform']),
        '--output', file,
        ...dirs.map((d) => `${relative(root, d) || '.'}/**/*.ts`),
      ],
      { cwd: root, encoding: 'utf8' },
    );
    if (r.status !== 0) {
      console.error(`cycle check: dpdm failed (exit ${r.status ?? r.signal})\n${r.stderr}${r.stdout}`);
      process.exit(1);
    }
    return JSON.parse(readFileSync(file, 'utf8'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const all = analyse(true);
const modules = Object.keys(all.tree).filter((f) => dirs.some((d) => resolve(root, f).startsWith(`${d}/`))).length;
if (all.circulars.length === 0) {
  console.log(`cycle check: no import cycle in ${modules} modules of ${shown.join(', ')}`);
  process.exit(0);
}

// Which of them are there at run time too (dpdm drops type-only imports when it transforms)
const key = (cycle) => [...cycle].sort().join('\n');
const runtime = new Set(analyse(false).circulars.map(key));
console.error(`cycle check: ${all.circulars.length} import cycle(s) in ${shown.join(', ')}:`);
all.circulars.forEach((cycle, i) => {
  const kind = runtime.has(key(cycle)) ? 'at run time' : 'in types only';
  console.error(`  ${i + 1}) ${[...cycle, cycle[0]].join(' → ')}  (${kind})`);
});
console.error(
  'hint: move what both sides need into a module of its own (a contract in contracts/ for types), so the imports point one way',
);
process.exit(1);
