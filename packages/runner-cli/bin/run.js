#!/usr/bin/env -S node --max-semi-space-size=4
// The `qiao` command. The node flag caps V8's young generation at 2 × 4 MB: a run allocates fast and
// keeps little, and with the default (up to 2 × 16 MB, grown under load) the heap keeps tens of
// megabytes of room for garbage; with it, a 100k-customer run stays well under 200 MB at the same
// speed (bench/scale.mjs, bench/RESULTS.md).
import 'reflect-metadata';
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
