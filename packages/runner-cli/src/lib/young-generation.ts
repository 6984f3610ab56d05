import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Semi-space size at which qiao stops V8's young generation from growing (node lets it grow to 16 MB).
 * V8 doubles it at a GC, and the check runs just after GCs, so it may take one more step: 2–4 MB.
 */
export const SEMI_SPACE_MB = 2;

/**
 * Stops V8's young generation from growing beyond two semi-spaces of {@link SEMI_SPACE_MB} MB (one
 * doubling more if GCs come faster than the check).
 *
 * node lets it grow to 2 × 16 MB under a high allocation rate, which a run of qiao has: a 100k-customer
 * run peaked at ~200 MB of RSS, ~25 MB of it young generation (bench/scale.mjs). `--max-semi-space-size`
 * would cap it, but it is a node flag (a launcher would need `env -S`, which BusyBox lacks) and V8 reads
 * it only at start; `--semi-space-growth-factor` is read whenever V8 considers growing, so once the
 * young generation has reached the size wanted, growth is switched off. A user who sets either flag
 * (NODE_OPTIONS or node's own arguments) keeps their choice.
 */
export function capYoungGeneration(options: { semiSpaceMb?: number; execArgv?: readonly string[]; nodeOptions?: string } = {}): boolean {
  const semiSpaceMb = options.semiSpaceMb ?? SEMI_SPACE_MB;
  const given = [...(options.execArgv ?? process.execArgv), options.nodeOptions ?? process.env.NODE_OPTIONS ?? ''].join(' ');
  if (/--(max-semi-space-size|semi-space-growth-factor|max-young-generation-size)\b/.test(given)) return false;
  const limit = 2 * semiSpaceMb * 1024 * 1024;
  const youngGeneration = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  const stop = () => v8.setFlagsFromString('--semi-space-growth-factor=1');
  if (youngGeneration() >= limit) {
    stop();
    return true;
  }
  // Checked after each GC (the young generation grows only at a GC); observers do not keep node running.
  const observer = new PerformanceObserver(() => {
    if (youngGeneration() < limit) return;
    stop();
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
  return true;
}
