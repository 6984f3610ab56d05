#!/usr/bin/env node
// `npm run pack`: builds every package and writes one tarball per package to dist/packages/, the files
// `npm publish` would upload. Installing them in any folder gives a working `npx qiao`
// (README "Install qiao in a project"). `--json` prints the tarballs' paths as one JSON document.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'dist', 'packages');
const json = process.argv.includes('--json');
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' };
const say = (line) => process.stderr.write(`${line}\n`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    process.stderr.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    say(`npm run pack: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status}); fix the error above, then run npm run pack again.`);
    process.exit(1);
  }
  return r.stdout;
}

say('building every package (tsc -b, oclif manifest)…');
run('npx', ['--no-install', 'tsc', '-b']);
run(process.execPath, ['scripts/oclif-manifest.mjs']);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
say(`packing every workspace into ${outDir}…`);
const packed = JSON.parse(run('npm', ['pack', '--workspaces', '--json', '--pack-destination', outDir]));
const tarballs = readdirSync(outDir).filter((f) => f.endsWith('.tgz')).sort().map((f) => join(outDir, f));
if (json) {
  process.stdout.write(
    `${JSON.stringify({ directory: outDir, packages: packed.map((p) => ({ name: p.name, version: p.version, file: join(outDir, p.filename), files: p.entryCount, size: p.size })) }, null, 2)}\n`,
  );
} else {
  for (const p of packed) say(`  ${p.name}@${p.version}  ${join('dist/packages', p.filename)}  (${p.entryCount} files)`);
  say(`\nInstall in any folder:\n  npm install ${tarballs.map((t) => t.replace(root, '<qiao>/')).join(' ')}\n  npx qiao demo`);
}
