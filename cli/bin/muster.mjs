#!/usr/bin/env node
// Launcher for the `muster` CLI: registers tsx (resolved from this package, so it works from any
// directory) and runs the TypeScript entry point in this process.
import { register } from 'tsx/esm/api';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

register();
const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');
await import(pathToFileURL(main).href);
