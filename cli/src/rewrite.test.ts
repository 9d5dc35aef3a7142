/**
 * The upgrade of a log written by the previous version (personal data in clear): erase a person on
 * the new version, stop, `muster log rewrite`, check, swap, start again. Real processes: the CLI is
 * spawned, the server is the real stack on the data directory.
 */
import { cp, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { muster, startStack } from '../../tests/helpers.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/log-before-sealing');
const STAFF = '05a0cad0-8414-4246-abb3-efa49c16b9d4';
const ADA = '5d264224-9b44-4ca1-8ec2-183c8c48ea90';
const GRACE = 'cfa48606-6faa-4e94-afbe-0afa063516ea';


it('upgrades a log of the previous version: erase, rewrite (sealed, the erased person gone), verify, check the statement, swap, start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'muster-rewrite-'));
  try {
    const data = join(dir, 'data');
    await cp(FIXTURE, data, { recursive: true });
    const clearBefore = await readFile(join(data, 'events', 'events.log'));
    expect(clearBefore.includes('Grace')).toBe(true); // the previous version wrote names in clear

    // 1. the new version runs on the old log; an owner erases Grace: readers see [erased] at once
    const s = await startStack({}, data);
    try {
      expect((await s.admin('GET', `/lists/${STAFF}/people/${ADA}`)).body.fields.email).toBe('ada.lovelace@example.org');
      const erased = await s.admin('POST', `/lists/${STAFF}/people/${GRACE}/erase`, { reason: 'asked on 2026-12-01' });
      expect(erased.status).toBe(200);
      const history = String((await s.admin('GET', `/audit/events?personId=${GRACE}`)).body);
      expect(history).not.toMatch(/Grace|Hopper|Rear Admiral/);
      expect(history).toContain('[erased]');
      // a new person on the new version is sealed from the start
      expect((await s.admin('POST', `/lists/d9c55aa4-7149-4a9b-858d-99058f7d3cbb/people`, { fields: { fullName: 'Katherine Johnson' } })).status).toBe(201);
    } finally {
      await s.stop({ keepData: true });
    }
    // ...but the old bytes still hold her name: that is what the rewrite is for
    expect((await readFile(join(data, 'events', 'events.log'))).includes('Hopper')).toBe(true);
    expect((await readFile(join(data, 'events', 'events.log'))).includes('Katherine')).toBe(false);

    // 2. rewrite (the server is stopped), then verify the new log and the statement
    const out = join(dir, 'rewritten');
    const res = await muster(['log', 'rewrite', '--out', out], data);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout.trim());
    expect(summary.counts.erased).toBeGreaterThan(0);
    expect(summary.counts.sealed).toBeGreaterThan(0);
    expect(summary.before.events).toBe(summary.after.events);
    const head = await muster(['audit', 'head'], data);
    expect(JSON.parse(head.stdout)).toMatchObject({ position: summary.before.position, digest: summary.before.digest });
    const rewritten = await readFile(join(out, 'events', 'events.log'));
    // (names and numbers long enough not to turn up by chance in base64 ciphertext or hex hashes)
    for (const needle of ['Grace', 'Hopper', 'Rear Admiral', 'Lovelace', 'ada.lovelace@example.org', 'Margaret Hamilton', '+44 20 7946']) expect(rewritten.includes(needle), needle).toBe(false);
    const statement = JSON.parse(await readFile(join(out, 'rewrite-statement.json'), 'utf8'));
    expect(statement.signature.alg).toBe('Ed25519');
    expect(statement.changed.length).toBe(summary.counts.sealed + summary.counts.erased);

    // 3. swap: the old log is moved away (and destroyed by the operator), the new one put in place
    await rename(join(data, 'events'), join(dir, 'events-before-rewrite'));
    await rename(join(out, 'events'), join(data, 'events'));
    await rm(join(data, 'snapshots'), { recursive: true, force: true });
    const verify = await muster(['audit', 'verify'], data);
    expect(verify.code, verify.stderr).toBe(0);
    const check = await muster(['log', 'check-statement', join(out, 'rewrite-statement.json')], data);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^OK/);
    // a statement changed after signing is refused
    const forged = join(dir, 'forged.json');
    await (await import('node:fs/promises')).writeFile(forged, JSON.stringify({ ...statement, counts: { ...statement.counts, erased: 0 } }));
    expect((await muster(['log', 'check-statement', forged], data)).code).toBe(1);

    // 4. the server on the rewritten log: everyone but Grace as before
    const again = await startStack({}, data);
    try {
      const ada = await again.admin('GET', `/lists/${STAFF}/people/${ADA}`);
      expect(ada.body.fields).toMatchObject({ email: 'ada.lovelace@example.org' });
      expect((await again.admin('GET', `/lists/${STAFF}/people/${GRACE}`)).status).toBe(404);
      const people = (await again.admin('GET', `/lists/${STAFF}/people?status=all`)).body.items.map((p: { id: string }) => p.id);
      expect(people).not.toContain(GRACE);
      expect(people).toContain(ADA);
    } finally {
      await again.stop({ keepData: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
