import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; hasInstallScript?: boolean; optional?: boolean }>;
};

const installed = Object.entries(lock.packages).filter(([path]) => path.includes('node_modules/'));
const nameOf = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('dependencies against the engines Muster declares', () => {
  it('every installed package runs on the oldest Node the root package.json accepts', () => {
    const floor = semver.minVersion(manifest.engines.node)!.version;
    const misfits = installed
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(([, p]) => !semver.satisfies(floor, (p.engines as { node: string }).node))
      .map(([path, p]) => `${nameOf(path)}@${p.version} wants node ${(p.engines as { node: string }).node}`);
    expect(misfits).toEqual([]);
  });

  it('every package with an install script has a reviewed allowScripts entry', () => {
    const unreviewed = installed
      .filter(([, p]) => p.hasInstallScript)
      .map(([path]) => nameOf(path))
      .filter((name) => !(name in manifest.allowScripts));
    expect(unreviewed).toEqual([]);
  });
});
