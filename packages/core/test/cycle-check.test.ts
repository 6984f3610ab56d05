import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = 'packages/core/test/fixtures/import-cycles';

/** Runs the cycle check `npm test` runs, on the given folders (all packages' src when none). */
function checkCycles(...dirs: string[]): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, ['scripts/check-cycles.mjs', ...dirs], { cwd: root, encoding: 'utf8' });
  return { code: r.status, output: r.stdout + r.stderr };
}

describe('the import cycle check of npm test', () => {
  it('fails on a cycle, and prints it', () => {
    const { code, output } = checkCycles(`${fixtures}/with-cycle`);
    expect(code).toBe(1);
    expect(output).toContain('1 import cycle(s)');
    expect(output).toMatch(/with-cycle\/b\.ts → .*with-cycle\/a\.ts → .*with-cycle\/b\.ts {2}\(at run time\)/);
  });

  it('counts a cycle of type-only imports too, and says so', () => {
    const { code, output } = checkCycles(`${fixtures}/types-only-cycle`);
    expect(code).toBe(1);
    expect(output).toMatch(/order\.ts → .*customer\.ts → .*order\.ts {2}\(in types only\)/);
  });

  it('passes on modules whose imports point one way', () => {
    const { code, output } = checkCycles(`${fixtures}/without-cycle`);
    expect(output).toContain('no import cycle in 4 modules');
    expect(code).toBe(0);
  });

  it('finds no cycle in core', () => {
    const { code, output } = checkCycles('packages/core/src');
    expect(output).toMatch(/no import cycle in \d+ modules of packages\/core\/src/);
    expect(code).toBe(0);
  });
});
