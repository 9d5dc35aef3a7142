/**
 * What the read models' documents mean, as one value: a digest of this library's sources (the
 * collections, their documents and the projections that build them). Any change to them makes a
 * new version, and a read-model snapshot of another version is not loaded: the read models are
 * built from the event log instead (the whole snapshot, not collection by collection: simpler,
 * and a projection change is rare).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const READ_MODEL_VERSION: string = (() => {
  const dir = import.meta.dirname;
  const h = createHash('sha256');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts') && !x.endsWith('.test.ts')).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
})();
