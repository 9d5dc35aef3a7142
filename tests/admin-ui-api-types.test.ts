/**
 * The admin console and the admin API cannot drift apart: the console's API types are generated
 * from the OpenAPI document the API serves (tools/admin-ui-api-types.ts), this test fails when the
 * committed file is not what the API describes now, and the console must type-check against them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_TYPES_FILE, generateApiTypes } from '../tools/admin-ui-api-types.ts';

const ROOT = resolve(import.meta.dirname, '..');

describe('admin console API types', () => {
  it('are what the API describes now (regenerate: npx tsx tools/admin-ui-api-types.ts)', async () => {
    expect(readFileSync(API_TYPES_FILE, 'utf8') === await generateApiTypes(), 'services/admin-ui/src/api/schema.d.ts is stale: run npx tsx tools/admin-ui-api-types.ts').toBe(true);
  }, 30_000);

  it('the console type-checks against them', () => {
    execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'services/admin-ui'], { cwd: ROOT, stdio: 'pipe' });
  }, 60_000);
});
