#!/usr/bin/env node
// `npm test`: checks that no package's src has an import cycle (scripts/check-cycles.mjs), builds and
// type-checks every package (nx, cached), runs every vitest project, then prints one closing line
// "N passed, N failed, N skipped" that any CI can read.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' };
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env }).status ?? 1;

if (run(process.execPath, ['scripts/check-cycles.mjs']) !== 0) {
  console.log('0 passed, 1 failed');
  console.error('import cycle check failed (see above)');
  process.exit(1);
}

if (
  run('npx', ['--no-install', 'nx', 'run-many', '-t', 'build', 'typecheck', '--outputStyle=static']) !== 0 ||
  // the reliability suite lives outside the packages
  run('npx', ['--no-install', 'tsc', '-p', 'tests/chaos']) !== 0 ||
  run('npx', ['--no-install', 'tsc', '-p', 'tests/install']) !== 0
) {
  console.log('0 passed, 1 failed');
  console.error('build or type check failed (see above)');
  process.exit(1);
}

const outDir = join(root, 'tmp');
mkdirSync(outDir, { recursive: true });
const resultFile = join(outDir, 'vitest-results.json');
rmSync(resultFile, { force: true });
const extra = process.argv.slice(2);
const status = run('npx', ['--no-install', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultFile}`, ...extra]);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(resultFile, 'utf8'));
  passed = r.numPassedTests;
  // failed tests, plus test files that failed without a failed test (they did not load or run)
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((t) => t.status === 'failed')).length;
  failed = r.numFailedTests + brokenFiles;
  skipped = r.numPendingTests + r.numTodoTests;
  if (r.numTotalTests === 0) failed = Math.max(failed, 1);
} catch {
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status !== 0 || failed > 0 ? 1 : 0);
