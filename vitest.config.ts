import { defineConfig } from 'vitest/config';

const ALL = ['libs/**/*.test.ts', 'services/**/*.test.ts', 'cli/**/*.test.ts', 'deploy/**/*.test.ts', 'tests/**/*.test.ts'];
/**
 * Files that install process-wide state they cannot take back (OpenTelemetry's global providers)
 * run each in a fresh worker. Every other file shares its worker's modules with the files before it
 * (isolate: false), which saves loading the whole stack ~90 times: such a file must leave no
 * process-wide state behind (environment variables included: see withEnv in the SCIM test support).
 */
const ISOLATED = ['libs/telemetry/**/*.test.ts', 'tests/tracing.test.ts', 'services/projector/src/module.test.ts'];

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', '**/data/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // two test files at a time: most of the suite waits on sockets, child processes and the browser,
    // and vitest's default (one worker on a 2-core machine) ran the files one after another
    maxWorkers: 2,
    reporters: ['default', './tools/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'shared', include: ALL, exclude: ['**/node_modules/**', '**/data/**', ...ISOLATED], isolate: false } },
      { extends: true, test: { name: 'isolated', include: ISOLATED, isolate: true } },
    ],
  },
});
