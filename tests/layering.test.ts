/**
 * The layering rules of .dependency-cruiser.cjs, enforced: libs import libs; a service imports
 * libs and never another service; production code never imports tests. Checked with
 * dependency-cruiser over the real import graph (workspace packages resolved to their folders).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs'));

async function violations(baseDir: string, dirs: string[]): Promise<IViolation[]> {
  const previous = process.cwd();
  process.chdir(baseDir); // dependency-cruiser matches rule paths against paths relative to the working directory
  try {
    const res = await cruise(dirs, { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden }, baseDir });
    const out = res.output as ICruiseResult;
    return out.summary.violations;
  } finally {
    process.chdir(previous);
  }
}

const show = (v: IViolation[]) => v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`);

describe('layering', () => {
  it('the repository keeps every rule', async () => {
    const found = await violations(root, ['libs', 'services', 'cli', 'bench', 'tests', 'tools']);
    expect(show(found)).toEqual([]);
  });

  const scratch = mkdtempSync(join(tmpdir(), 'muster-layering-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  };

  it('the rules catch a service importing another service, a lib importing a service, and src importing a test harness', async () => {
    write('services/billing/src/plan.ts', 'export const plan = 1;\n');
    write('services/orders/src/order.ts', "import { plan } from '../../billing/src/plan.ts';\nexport const order = plan;\n");
    write('services/launcher/src/main.ts', "import { order } from '../../orders/src/order.ts';\nexport const main = order;\n");
    write('libs/money/src/money.ts', "import { order } from '../../../services/orders/src/order.ts';\nexport const money = order;\n");
    write('tests/helpers.ts', 'export const helper = 1;\n');
    write('libs/money/src/use.ts', "import { helper } from '../../../tests/helpers.ts';\nexport const use = helper;\n");
    const found = show(await violations(scratch, ['libs', 'services', 'tests']));
    expect(found).toContain('no-service-imports-another-service: services/orders/src/order.ts → services/billing/src/plan.ts');
    expect(found).toContain('no-lib-imports-a-service-or-entry-point: libs/money/src/money.ts → services/orders/src/order.ts');
    expect(found).toContain('no-production-code-imports-tests: libs/money/src/use.ts → tests/helpers.ts');
    // the launcher is the composition root: it may import services
    expect(found.filter((f) => f.includes('services/launcher/'))).toEqual([]);
  });
});
