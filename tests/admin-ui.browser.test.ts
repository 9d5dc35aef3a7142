/**
 * The admin console in real Chromium (Debian's chromium driven by playwright-core), against the
 * whole stack over real HTTP: sign in, create a list, see people an IdP pushes over SCIM appear
 * live, filter by status, search, reload onto the same screen. axe-core checks every screen
 * (no serious or critical violation, best-practice rules included); screenshots at 1440×900 go to
 * docs/screenshots/. Without Chromium the suite prints one SKIPPED line, except in CI
 * (MUSTER_REQUIRE_BROWSER=1), where it fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGraph } from '@muster/entra-graph/testing';
import { ADMIN, startStack, type Stack } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CHROMIUM = process.env.MUSTER_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.MUSTER_REQUIRE_BROWSER === '1';
const available = existsSync(CHROMIUM);
if (!available && !REQUIRED) console.log(`SKIPPED admin console browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium; MUSTER_REQUIRE_BROWSER=1 makes this a failure)`);
const SHOTS = join(ROOT, 'docs/screenshots');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** axe-core's default rules plus best practices on the page as it is: serious and critical violations */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const r = await (globalThis as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, where: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.where.join(', ')}`);
}

/** the console signed in with the install's admin token (each test can run on its own) */
async function signIn(page: Page, url: string) {
  await page.goto(url);
  await page.waitForSelector('#admin-token, h1');
  if (await page.locator('#admin-token').count()) {
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Lists' }).waitFor();
  }
}

describe.runIf(available || REQUIRED)('admin console in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let graph: FakeGraph;
  beforeAll(async () => {
    if (!available) throw new Error(`MUSTER_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`);
    if (!existsSync(join(ROOT, 'services/admin-ui/dist/index.html'))) execFileSync('npm', ['run', 'build', '-w', '@muster/admin-ui'], { cwd: ROOT, stdio: 'ignore' });
    graph = new FakeGraph({ pageSize: 50 });
    await graph.start();
    stack = await startStack({ MUSTER_ENTRA_AUTHORITY_URL: graph.origin, MUSTER_GRAPH_URL: graph.origin, MUSTER_ENTRA_TICK_MS: '200', MUSTER_GRAPH_ATTEMPTS: '2' }, undefined, { transport: 'http' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    // bypassCSP: axe-core is injected as an inline script (the policy itself is checked below)
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => { await browser?.close(); await stack?.stop(); await graph?.stop(); });

  it('signs in (a wrong token is told so in words), creates a list, shows people an IdP pushes live, filters, searches and reloads onto the same screen', async () => {
    await page.goto(stack.url);
    const token = page.getByLabel('Admin token');
    await token.fill('not-a-real-token');
    await token.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/admin token was not accepted/);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 0]);

    await token.fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Lists' }).waitFor();
    expect(page.url()).not.toContain(ADMIN);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);

    await page.getByLabel('New list name').fill('Year 7');
    await page.getByRole('button', { name: 'Create list' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
    const listId = /\/lists\/([^/]+)\/people$/.exec(new URL(page.url()).pathname)?.[1];
    expect(listId).toBeDefined();
    await page.getByText('No people match.').waitFor();

    // the IT admin connects SCIM on the Sync tab and generates a token for the IdP
    await page.getByRole('link', { name: 'Sync' }).click();
    expect(new URL(page.url()).pathname).toBe(`/lists/${listId}/sync`);
    await page.getByRole('heading', { name: 'Automated User Provisioning' }).waitFor();
    await page.getByRole('heading', { name: 'Directory Sync (Entra ID)' }).waitFor();
    await page.getByRole('region', { name: 'Automated User Provisioning' }).getByRole('button', { name: 'Connect' }).click();
    const connectDialog = page.getByRole('dialog', { name: 'Connect Automated User Provisioning' });
    await connectDialog.getByText('stable and unique').waitFor();
    await connectDialog.getByLabel(/Username/).check();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'sync-connect.png') });
    await connectDialog.getByRole('button', { name: 'Connect' }).click();
    await page.getByTestId('scim-base-url').waitFor();
    const baseUrl = (await stack.admin('GET', `/lists/${listId}/sync/scim`)).body.scimBaseUrl as string;
    expect(await page.getByTestId('scim-base-url').textContent()).toBe(baseUrl); // the SCIM base URL as text, exactly as the API gives it
    await page.getByRole('heading', { name: 'Bearer Tokens' }).waitFor();
    await page.getByRole('button', { name: 'Generate Token' }).click();
    const tokenDialog = page.getByRole('dialog', { name: 'Bearer token' });
    await tokenDialog.getByText('will not be shown again').waitFor();
    expect(await tokenDialog.getByTestId('dialog-base-url').textContent()).toBe(baseUrl);
    const scimToken = (await tokenDialog.getByTestId('dialog-token').textContent())!;
    expect(scimToken).toMatch(/^sct_/);
    await tokenDialog.getByRole('button', { name: 'Copy base URL' }).waitFor();
    await tokenDialog.getByRole('button', { name: 'Copy token' }).waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'sync-token.png') });
    await tokenDialog.getByRole('button', { name: 'Done' }).click();
    await tokenDialog.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(scimToken); // gone from the page, not merely hidden
    await page.getByRole('cell', { name: `${scimToken.slice(0, 8)}…` }).waitFor();
    // setup guides for each IdP, with this list's base URL filled in
    for (const idp of ['Okta', 'Microsoft Entra ID', 'OneLogin', 'JumpCloud', 'PingOne']) await page.locator('.guides summary', { hasText: idp }).waitFor();
    await page.locator('.guides summary', { hasText: 'Okta' }).click();
    expect(await page.locator('.guides details[open]').textContent()).toContain(baseUrl);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'sync.png') });
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();

    const push = (userName: string, given: string, family: string, active = true) => fetch(`${stack.url}/scim/v2/lists/${listId}/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json', 'user-agent': 'Okta SCIM Client 1.0.0' },
      body: JSON.stringify({ schemas: [USER], userName, active, name: { givenName: given, familyName: family } }),
    });
    const pushedAt = Date.now();
    const ids: Record<string, string> = {};
    for (const [u, g, f, a] of [['ada', 'Ada', 'Lovelace', true], ['grace', 'Grace', 'Hopper', true], ['alan', 'Alan', 'Turing', false]] as const) {
      const res = await push(u, g, f, a);
      expect(res.status).toBe(201);
      ids[u] = ((await res.json()) as { id: string }).id;
    }
    const table = page.getByRole('table');
    await table.getByRole('cell', { name: 'Grace Hopper' }).waitFor({ timeout: 5_000 });
    expect(Date.now() - pushedAt).toBeLessThan(2_500); // live, without a reload
    expect(await table.getByRole('cell', { name: 'Alan Turing' }).count()).toBe(0); // Active by default
    expect(await page.getByLabel('Status').locator('option').allTextContents()).toEqual(['Active', 'Inactive', 'All']);
    await expect.poll(() => table.locator('thead th').count(), { timeout: 5_000 }).toBeGreaterThan(2); // the SCIM fields' columns
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'people.png') });

    await page.getByLabel('Status').selectOption({ label: 'Inactive' });
    await table.getByRole('cell', { name: 'Alan Turing' }).waitFor();
    expect(await table.getByRole('cell', { name: 'Ada Lovelace' }).count()).toBe(0);
    await page.getByLabel('Status').selectOption({ label: 'All' });
    await page.getByLabel('Search').fill('hopper');
    // one row, and it is Grace's (polled together: the table passes through other one-row states while the query changes)
    await expect.poll(async () => [await table.locator('tbody tr:not([aria-hidden])').count(), await table.getByRole('cell', { name: 'Grace Hopper' }).count()]).toEqual([1, 1]);

    // sort by name (family name), ascending then descending (the column header's button)
    await page.getByLabel('Search').fill('');
    await expect.poll(() => table.locator('tbody tr:not([aria-hidden])').count()).toBe(3);
    const names = () => table.locator('tbody tr:not([aria-hidden]) td:first-child').allTextContents();
    await page.getByRole('button', { name: /^Name/ }).click();
    await expect.poll(names).toEqual(['Grace Hopper', 'Ada Lovelace', 'Alan Turing']);
    await page.getByRole('button', { name: /^Name/ }).click();
    await expect.poll(names).toEqual(['Alan Turing', 'Ada Lovelace', 'Grace Hopper']);
    // a field filter: Last Name contains "tur"
    await page.getByLabel('Field', { exact: true }).selectOption({ label: 'Last Name' });
    await page.getByLabel('contains').fill('tur');
    await expect.poll(names).toEqual(['Alan Turing']);
    await page.getByLabel('Field', { exact: true }).selectOption({ label: 'Any field' });
    await expect.poll(names).toEqual(['Alan Turing', 'Ada Lovelace', 'Grace Hopper']);

    // a reload (or a shared link) lands on the same screen, still signed in
    await page.reload();
    await page.getByRole('heading', { name: 'People' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/lists/${listId}/people`);
    await page.getByRole('link', { name: 'All lists' }).click();
    await page.getByRole('link', { name: 'Year 7' }).waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'lists.png') });

    // keyboard: the list link is reachable and opens the People tab
    await page.getByRole('link', { name: 'Year 7' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'People' }).waitFor();

    // the provisioning log: what the IdP did, newest first, new entries without a reload, filters
    await page.getByRole('link', { name: 'Provisioning log' }).click();
    expect(new URL(page.url()).pathname).toBe(`/lists/${listId}/provisioning-log`);
    const log = page.getByRole('table');
    await log.getByRole('cell', { name: 'Grace Hopper' }).waitFor();
    await expect.poll(() => log.getByRole('cell', { name: 'CREATE', exact: true }).count()).toBe(3);
    await expect.poll(() => log.getByRole('cell', { name: 'Okta' }).count()).toBe(3);
    const patched = await fetch(`${stack.url}/scim/v2/lists/${listId}/Users/${ids.grace}`, {
      method: 'PATCH', headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json', 'user-agent': 'Okta SCIM Client 1.0.0' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Rear Admiral' }] }),
    });
    expect(patched.status).toBe(200);
    await log.getByText('jobTitle: (empty) → Rear Admiral').waitFor({ timeout: 3_000 });
    expect(await log.locator('tbody tr').first().textContent()).toContain('UPDATE'); // newest first
    await page.getByLabel('Operation').selectOption('UPDATE');
    await expect.poll(() => log.locator('tbody tr').count()).toBe(1);
    // Entra ID's SCIM client as well as Okta's: its create shows up live, named by its IdP
    await page.getByLabel('Operation').selectOption('CREATE');
    const entraUser = await fetch(`${stack.url}/scim/v2/lists/${listId}/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json', 'user-agent': 'Azure AD SCIM Client' },
      body: JSON.stringify({ schemas: [USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], externalId: 'e-77', userName: 'barbara@school.example', active: true, displayName: 'Barbara Liskov', name: { givenName: 'Barbara', familyName: 'Liskov' }, emails: [{ primary: true, type: 'work', value: 'barbara@school.example' }], 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Science' } }),
    });
    expect(entraUser.status).toBe(201);
    await log.getByRole('row', { name: /Barbara Liskov/ }).getByRole('cell', { name: 'Microsoft Entra ID' }).waitFor({ timeout: 3_000 });
    await page.getByLabel('Operation').selectOption('UPDATE');
    await expect.poll(() => log.locator('tbody tr').count()).toBe(1);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'provisioning-log.png') });

    // Configure Mappings: the full-screen editor, grouped by category; an invalid save is shown on its row;
    // a transform changed and saved re-applies to everyone (the remap), seen on the people table
    await page.getByRole('link', { name: 'Sync' }).click();
    await page.getByRole('link', { name: 'Configure Mappings' }).click();
    await page.getByRole('heading', { name: /^Configure Mappings/ }).waitFor();
    for (const group of ['Name', 'Contact', 'Organisation', 'Account', 'Address']) await page.locator('caption', { hasText: new RegExp(`^${group}$`) }).waitFor();
    await page.getByLabel('Map Nickname').check();
    await page.getByLabel('Target field for Nickname').selectOption({ label: 'First Name' }); // First Name is already filled by the given name
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Some mappings need attention').waitFor();
    expect(await page.locator('tr.invalid').count()).toBe(1);
    expect(await page.locator('tr.invalid .error').textContent()).toMatch(/firstName/);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'mappings.png') });
    await page.getByLabel('Map Nickname').uncheck();
    await page.getByLabel('Target field for Nickname').selectOption({ label: 'Department' });
    await page.getByLabel('Transform for Job title').selectOption('uppercase');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Saved\. Everyone on the list now follows these mappings/).waitFor();
    await page.goto(`${stack.url}/lists/${listId}/people`);
    await page.getByRole('cell', { name: 'REAR ADMIRAL' }).waitFor();

    // the Fields tab: the schema (synced fields marked), adding a local enum field
    await page.getByRole('link', { name: 'Fields' }).click();
    await page.getByRole('cell', { name: 'jobTitle' }).waitFor();
    await page.getByLabel('Field name').fill('House');
    await page.getByLabel('Type').selectOption('enum');
    await page.getByLabel('Values (comma-separated)').fill('Red, Blue');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.getByRole('cell', { name: 'enum (Red, Blue)' }).waitFor();
    await expect.poll(() => page.getByRole('row', { name: /House/ }).getByText('Local (edited here)').count()).toBe(1);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'fields.png') });

    // a person: synced fields locked with a badge, the timeline from the event log (who, from which IdP)
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/lists/${listId}/people/${ids.grace}`);
    await expect.poll(() => page.getByText('Synced by SCIM').count()).toBeGreaterThanOrEqual(9);
    await page.getByText(/Created by the identity provider by Okta/).waitFor();
    await page.getByText('jobTitle: (empty) → Rear Admiral').waitFor();
    expect(await page.getByRole('button', { name: 'Deactivate' }).count()).toBe(0); // the IdP owns the status
    await page.getByLabel('House').fill('Red'); // a local field: editable here
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('house: (empty) → Red').waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'person.png') });

    // audit: the head position and digest, verifying the chain, an NDJSON export of the list
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    const apiHead = (await stack.admin('GET', '/audit/head')).body as { position: number; digest: string };
    await expect.poll(async () => Number(await page.getByTestId('head-position').textContent())).toBeGreaterThanOrEqual(apiHead.position);
    expect(await page.getByTestId('head-digest').textContent()).toMatch(/^[0-9a-f]{64}$/);
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByText(/The chain is intact: [\d,]+ events checked/).waitFor();
    await page.getByLabel('List').selectOption({ label: 'Year 7' });
    await page.getByRole('button', { name: 'Export NDJSON' }).click();
    await page.getByRole('link', { name: /Download muster-events-.*\.ndjson/ }).waitFor();
    expect(Number(/\(([\d,]+) events\)/.exec((await page.locator('main').textContent())!)?.[1].replace(/,/g, ''))).toBeGreaterThan(5);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'audit.png') });
    // an owner erases a person (with a reason, confirmed): back on the roster without them
    await page.goto(`${stack.url}/lists/${listId}/people/${ids.alan}`);
    await page.getByRole('heading', { name: 'Alan Turing' }).waitFor();
    await page.getByRole('button', { name: 'Erase personal data' }).click();
    const eraseDialog = page.getByRole('dialog', { name: "Erase this person's personal data?" });
    expect(await eraseDialog.getByRole('button', { name: 'Erase' }).isDisabled()).toBe(true);
    await eraseDialog.getByLabel('Reason (recorded with the erasure)').fill('left the school, asked for erasure');
    expect(await accessibilityProblems(page)).toEqual([]);
    await eraseDialog.getByRole('button', { name: 'Erase' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/lists/${listId}/people`);
    expect((await stack.admin('GET', `/lists/${listId}/people/${ids.alan}`)).status).toBe(404);

    // revoke the token (with a confirmation): the IdP's next call is refused
    await page.getByRole('link', { name: 'Sync' }).click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke this token?' }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('cell', { name: 'Revoked' }).waitFor();
    expect((await push('late', 'Late', 'Comer')).status).toBe(401);
  }, 60_000);

  it('connects Entra ID directory sync, tests the connection, runs it and shows the run history with its summary', async () => {
    const users = ['Ines', 'Jun', 'Kofi'].map((n) => graph.addUser({ givenName: n, surname: 'Staff', displayName: `${n} Staff`, mail: `${n.toLowerCase()}@school.example`, userPrincipalName: `${n.toLowerCase()}@school.onmicrosoft.com` }));
    const group = graph.addGroup('All staff', users);
    const list = await stack.admin('POST', '/lists', { name: 'Staff' });
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/lists/${list.body.id}/sync`);
    await page.getByRole('heading', { name: 'Directory Sync (Entra ID)' }).waitFor();
    await page.getByRole('region', { name: 'Directory Sync (Entra ID)' }).getByRole('button', { name: 'Connect' }).click();
    const dialog = page.getByRole('dialog', { name: 'Connect Directory Sync (Entra ID)' });
    await dialog.getByLabel('Directory (tenant) id').fill(graph.tenantId);
    await dialog.getByLabel('Application (client) id').fill(graph.clientId);
    await dialog.getByLabel('Client secret').fill(graph.clientSecret);
    await dialog.getByLabel(/Group object ids/).fill(group);
    await dialog.getByLabel('Schedule').selectOption({ label: 'Only when run by hand' });
    expect(await accessibilityProblems(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works. Groups: All staff.').waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('cell', { name: '3 created' }).waitFor({ timeout: 15_000 });
    await page.getByRole('cell', { name: 'Succeeded' }).waitFor();
    expect(await page.content()).not.toContain(graph.clientSecret);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'sync-entra.png') });
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('cell', { name: 'Kofi Staff' }).waitFor();
  }, 60_000);

  it('imports a CSV file end to end: dropped on the page, columns mapped by suggestion, the report with its faulty rows, applied with progress', async () => {
    const list = await stack.admin('POST', '/lists', { name: 'Chess club' });
    const listId = list.body.id as string;
    for (const f of [{ key: 'studentId', label: 'Student ID', type: 'text' }, { key: 'firstName', label: 'First name', type: 'text' }, { key: 'lastName', label: 'Last name', type: 'text' }, { key: 'email', label: 'Email', type: 'email' }]) {
      expect((await stack.admin('POST', `/lists/${listId}/fields`, f)).status).toBe(201);
    }
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/lists/${listId}/imports`);
    await page.getByRole('heading', { name: 'Import a CSV file' }).waitFor();
    const csv = 'Student ID,First name,Last name,Email\r\nS1,Ada,Lovelace,ada@school.example\r\nS2,Alan,Turing,not-an-email\r\nS3,Grace,Hopper,grace@school.example\r\n';
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'club.csv', { type: 'text/csv' }));
      document.querySelector('.dropzone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, csv);
    await page.getByText('club.csv: 3 rows, 4 columns').waitFor();
    expect(await page.getByLabel('Field for column First name').inputValue()).toBe('firstName'); // suggested
    expect(await page.getByLabel('Field for column Email').inputValue()).toBe('email');
    await page.getByLabel('Column that identifies people').selectOption('Student ID');
    await page.getByRole('button', { name: 'Validate' }).click();
    const counts = page.getByRole('list', { name: 'What the import would do' });
    await counts.waitFor();
    expect(await counts.textContent()).toContain('2 to create');
    expect(await counts.textContent()).toContain('1 with errors');
    await page.getByRole('cell', { name: 'not-an-email' }).waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'import.png') });
    await page.getByRole('button', { name: 'Apply the import' }).click();
    await page.getByText('Applied. The list now holds the file\'s people.').waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('cell', { name: 'Grace Hopper' }).waitFor();
    expect(await page.getByRole('cell', { name: 'Alan Turing' }).count()).toBe(0); // the faulty row was left out
  }, 60_000);

  it('reviews a changeset with a conflict side by side, resolves it field by field, applies it and rolls it back', async () => {
    const list = await stack.admin('POST', '/lists', { name: 'Form 7' });
    const listId = list.body.id as string;
    for (const f of [{ key: 'firstName', label: 'First name', type: 'text' }, { key: 'form', label: 'Form', type: 'text' }]) expect((await stack.admin('POST', `/lists/${listId}/fields`, f)).status).toBe(201);
    const ann = (await stack.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Ann', form: '7A' } })).body.id as string;
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/lists/${listId}/changesets`);
    await page.getByLabel('Session name').fill('Photo day');
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.getByText(/Session started with 1 people/).waitFor();
    const sid = (await stack.admin('GET', `/lists/${listId}/sessions`)).body.items[0].id as string;
    // the photographer's edit in the session, and someone changing the roster meanwhile
    expect((await stack.admin('PATCH', `/sessions/${sid}/people/${ann}`, { fields: { form: '8A' } })).status).toBe(200);
    expect((await stack.admin('PATCH', `/lists/${listId}/people/${ann}`, { fields: { form: '8B' } })).status).toBe(200);
    const cid = (await stack.admin('POST', `/sessions/${sid}/push`)).body.changesetId as string;
    await page.getByRole('link', { name: cid.slice(0, 8) }).click();
    const conflict = page.locator('tr.conflict');
    await conflict.waitFor();
    expect(await conflict.locator('td').allTextContents()).toEqual(expect.arrayContaining(['7A', '8B', '8A'])); // base, roster, incoming
    const approve = page.getByRole('button', { name: 'Approve', exact: true });
    expect(await approve.isDisabled()).toBe(true); // a conflict needs a choice first
    await page.getByLabel('Incoming').check();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'changeset.png') });
    await approve.click();
    await page.getByRole('heading', { name: /— approved/ }).waitFor();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Status: Applied').waitFor({ timeout: 15_000 });
    expect((await stack.admin('GET', `/lists/${listId}/people/${ann}`)).body.fields.form).toBe('8A');
    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('Status: Rolled back').waitFor({ timeout: 15_000 });
    expect((await stack.admin('GET', `/lists/${listId}/people/${ann}`)).body.fields.form).toBe('8B');
  }, 60_000);

  it('a viewer sees no button it cannot use, and no audit screen', async () => {
    const list = await stack.admin('POST', '/lists', { name: 'Read only' });
    expect((await stack.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'userName' })).status).toBe(201);
    const viewer = (await stack.admin('POST', '/admin-tokens', { role: 'viewer' })).body.token as string;
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const view = await context.newPage();
    await view.goto(stack.url);
    await view.getByLabel('Admin token').fill(viewer);
    await view.getByRole('button', { name: 'Sign in' }).click();
    await view.getByRole('link', { name: 'Read only' }).waitFor();
    expect(await view.getByRole('button', { name: 'Create list' }).count()).toBe(0);
    expect(await view.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    await view.goto(`${stack.url}/lists/${list.body.id}/sync`);
    await view.getByRole('heading', { name: 'Bearer Tokens' }).waitFor();
    for (const name of ['Generate Token', 'Disconnect', 'Connect', 'Revoke', 'Rotate']) expect(await view.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    const someone = await stack.admin('POST', '/lists', { name: 'Viewer people' });
    await stack.admin('POST', `/lists/${someone.body.id}/fields`, { key: 'firstName', label: 'First name', type: 'text' });
    const person = await stack.admin('POST', `/lists/${someone.body.id}/people`, { fields: { firstName: 'Vera' } });
    await view.goto(`${stack.url}/lists/${someone.body.id}/people/${person.body.id}`);
    await view.getByRole('heading', { name: 'Timeline' }).waitFor();
    expect(await view.getByRole('button', { name: 'Erase personal data' }).count()).toBe(0);
    await view.goto(`${stack.url}/lists/${list.body.id}/imports`);
    await view.getByText('Importing needs an owner or admin token.').waitFor();
    await context.close();
  }, 60_000);

  it('serves the console with a content security policy and its assets cached for good; the API and SCIM keep their own answers', async () => {
    const html = await fetch(`${stack.url}/lists/some-list/people`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(await html.text())?.[1];
    const js = await fetch(`${stack.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    expect((await fetch(`${stack.url}/api/v1/lists`)).status).toBe(401);
    expect((await fetch(`${stack.url}/nope`)).status).toBe(404);
  });
});
