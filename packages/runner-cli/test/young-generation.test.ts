import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { capYoungGeneration } from '../src/lib/young-generation.js';

const run = promisify(execFile);
const MODULE = fileURLToPath(new URL('../dist/lib/young-generation.js', import.meta.url));

/** A node process that allocates like a run (short-lived objects, some kept a while) and prints its young generation's size in MB. */
async function youngGenerationAfterWork(cap: boolean, nodeArgs: string[] = []): Promise<number> {
  const script = `
    import v8 from 'node:v8';
    import { capYoungGeneration } from ${JSON.stringify(MODULE)};
    if (${cap}) capYoungGeneration();
    const keep = [];
    for (let i = 0; i < 4e6; i++) {
      const o = { id: i, name: 'customer ' + i, tags: [i, i + 1] };
      if (i % 20 === 0) keep.push(o);
      if (keep.length > 40000) keep.splice(0, 20000);
      if (i % 10000 === 0) await new Promise((r) => setImmediate(r)); // let GC observers run
    }
    const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    console.log(s.space_size / 1048576);
  `;
  const { stdout } = await run(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { timeout: 60_000 });
  return Number(stdout.trim());
}

describe('capYoungGeneration', () => {
  it("keeps V8's young generation at 2 × 2–4 MB where node would let it grow to 2 × 16 MB", async () => {
    const [uncapped, capped] = await Promise.all([youngGenerationAfterWork(false), youngGenerationAfterWork(true)]);
    expect(uncapped).toBeGreaterThan(8);
    expect(capped).toBeLessThanOrEqual(8);
  }, 60_000);

  it("leaves the young generation to the user's own node flags", () => {
    expect(capYoungGeneration({ execArgv: ['--max-semi-space-size=16'], nodeOptions: '' })).toBe(false);
    expect(capYoungGeneration({ execArgv: [], nodeOptions: '--semi-space-growth-factor=2' })).toBe(false);
  });
});
