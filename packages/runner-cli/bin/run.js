#!/usr/bin/env node
// The `qiao` command. oclif reads oclif.manifest.json (written at build) and loads only the command run.
import 'reflect-metadata';
import { execute } from '@oclif/core';
import { tuneHeap } from '../dist/lib/heap.js';

// V8's old generation kept near what a run keeps alive: ~50 MB less memory (lib/heap.ts)
tuneHeap();
await execute({ dir: import.meta.url });
