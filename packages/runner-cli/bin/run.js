#!/usr/bin/env node
// The `qiao` command. oclif reads oclif.manifest.json (written at build) and loads only the command run.
import 'reflect-metadata';
import { execute } from '@oclif/core';
import { capYoungGeneration } from '../dist/lib/young-generation.js';

// a young generation of 2 × 2–4 MB instead of node's 2 × 16 MB: ~25 MB less memory for a long run
capYoungGeneration();
await execute({ dir: import.meta.url });
