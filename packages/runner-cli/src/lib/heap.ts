import v8 from 'node:v8';

/** How far V8's old generation may grow past what the last full GC kept, in percent (V8 picks 10–300). */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Sizes V8's heap for qiao, at run time. A run keeps little (records stream through; ~20 MB live) but
 * allocates fast, and V8 sizes the old generation for the allocation rate: up to 4× what its last full
 * GC kept, most of it garbage waiting. A 100k-customer run peaked at ~200 MB of RSS (bench/scale.mjs).
 * qiao has the old generation collected once it has grown {@link HEAP_GROWING_PERCENT}% instead: 150 MB,
 * at the same speed (full GCs of a small heap are cheap).
 *
 * `--heap-growing-percent` is read whenever V8 sets the next limit, so it is set here rather than as a
 * node flag (a flag in the launcher would need `env -S`, which BusyBox lacks). A user who gives node
 * `--heap-growing-percent` (NODE_OPTIONS or node's arguments) keeps their choice.
 */
export function tuneHeap(options: { execArgv?: readonly string[]; nodeOptions?: string } = {}): boolean {
  const given = [...(options.execArgv ?? process.execArgv), options.nodeOptions ?? process.env.NODE_OPTIONS ?? ''].join(' ');
  if (/--heap-growing-percent\b/.test(given)) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
