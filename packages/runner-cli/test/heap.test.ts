import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tuneHeap } from '../src/lib/heap.js';

const run = promisify(execFile);
const MODULE = fileURLToPath(new URL('../dist/lib/heap.js', import.meta.url));

/**
 * A node process that works like a run (a live set, fast short-lived allocation, some objects living a
 * while) and prints the largest young and old generations it had, in MB.
 */
async function heapAfterWork(tuned: boolean): Promise<{ young: number; old: number }> {
  const script = `
    import v8 from 'node:v8';
    import { tuneHeap } from ${JSON.stringify(MODULE)};
    if (${tuned}) tuneHeap({ execArgv: [], nodeOptions: '' });
    const space = (name) => v8.getHeapSpaceStatistics().find((s) => s.space_name === name).space_size / 1048576;
    const live = [];
    for (let i = 0; i < 150000; i++) live.push({ id: i, name: 'customer ' + i, tags: [i, i + 1] });
    let young = 0, old = 0;
    // tasks of a few hundred KB, as a run's (an answer parsed, a batch enqueued), whose objects live a
    // few dozen tasks (then they have been promoted, and die)
    const recent = [];
    for (let round = 0; round < 1500; round++) {
      const garbage = [];
      for (let i = 0; i < 5000; i++) garbage.push({ id: i, text: 'x' + i + round, arr: [i] });
      recent.push(garbage);
      if (recent.length > 30) recent.shift();
      await new Promise((r) => setImmediate(r)); // GC observers run
      young = Math.max(young, space('new_space'));
      old = Math.max(old, space('old_space'));
    }
    console.log(JSON.stringify({ young, old }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout.trim()) as { young: number; old: number };
}

describe('tuneHeap', () => {
  it("keeps V8's old generation near what is live, where node lets garbage pile up", async () => {
    const [node, qiao] = await Promise.all([heapAfterWork(false), heapAfterWork(true)]);
    // node lets the old generation grow up to 4× what a full GC keeps; qiao 1.5× (measured: ~136 MB against ~52)
    expect(qiao.old).toBeLessThan(node.old * 0.6);
  }, 60_000);

  it("leaves the heap to the user's own node flag", () => {
    expect(tuneHeap({ execArgv: ['--heap-growing-percent=100'], nodeOptions: '' })).toBe(false);
    expect(tuneHeap({ execArgv: [], nodeOptions: '--heap-growing-percent=80 --max-old-space-size=512' })).toBe(false);
    expect(tuneHeap({ execArgv: [], nodeOptions: '' })).toBe(true);
  });
});
