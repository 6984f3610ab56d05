#!/usr/bin/env node
// The `qiao` command. oclif reads oclif.manifest.json (written at build) and loads only the command run.
import 'reflect-metadata';
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
