import { expect, vi } from 'vitest';
import type { Stack } from '../../../tests/helpers.ts';

export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export const DEFAULT_FIELD_KEYS = ['firstName', 'lastName', 'email', 'displayName', 'employeeNumber', 'primaryEmail', 'phone', 'jobTitle', 'department'];

export interface ScimList { id: string; token: string; tokenId: string; base: string }

/** Expect a status, showing the body when it differs (so a failure says why). */
export function expectStatus(res: { status: number; body: unknown }, status: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
}

/** A list with SCIM connected and one token. */
export async function scimList(s: Stack, opts: { name?: string; uniqueIdentifier?: 'employeeNumber' | 'userName' | 'email'; token?: string } = {}): Promise<ScimList> {
  const admin = (m: string, p: string, b?: unknown) => s.admin(m, p, b, opts.token);
  const list = await admin('POST', '/lists', { name: opts.name ?? 'Staff' });
  expectStatus(list, 201);
  const connect = await admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: opts.uniqueIdentifier ?? 'employeeNumber' });
  expectStatus(connect, 201);
  const tok = await admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {});
  expectStatus(tok, 201);
  return { id: list.body.id, token: tok.body.token, tokenId: tok.body.id, base: tok.body.scimBaseUrl };
}

/** A SCIM User as Okta/Entra send it. */
export function scimUser(n: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { enterprise, ...rest } = extra as { enterprise?: Record<string, unknown> };
  return {
    schemas: [USER_SCHEMA, ENTERPRISE],
    userName: `${n}@example.org`,
    name: { givenName: n[0].toUpperCase() + n.slice(1), familyName: 'Tester' },
    displayName: `${n} Tester`,
    active: true,
    emails: [{ value: `${n}@example.org`, type: 'work', primary: true }],
    [ENTERPRISE]: { employeeNumber: `E-${n}`, department: 'Science', ...(enterprise ?? {}) },
    ...rest,
  };
}

export async function createUser(s: Stack, l: ScimList, n: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Promise<string> {
  const res = await s.scim(l.token, 'POST', `${l.base}/Users`, scimUser(n, extra), headers);
  expectStatus(res, 201);
  return res.body.id;
}

export function patchOps(...ops: Array<{ op: string; path?: string; value?: unknown }>) {
  return { schemas: [PATCH_OP], Operations: ops };
}

export async function person(s: Stack, listId: string, personId: string) {
  const res = await s.admin('GET', `/lists/${listId}/people/${personId}`);
  expectStatus(res, 200);
  return res.body;
}

/** Retry an assertion until it passes (for reactions that happen after the request returns). */
export function eventually<T>(fn: () => Promise<T>, timeout = 15_000): Promise<T> {
  return vi.waitFor(fn, { timeout, interval: 20 });
}

export async function provisioningLog(s: Stack, listId: string, query = ''): Promise<any[]> {
  const res = await s.admin('GET', `/lists/${listId}/provisioning-log${query ? `?${query}` : ''}`);
  expectStatus(res, 200);
  return res.body.items;
}

/** An organisation (created by the install-wide admin) and an owner token for it. */
export async function organisation(s: Stack, name: string, plan: 'pro' | 'business' | 'enterprise', role: 'owner' | 'admin' | 'viewer' = 'owner') {
  const org = await s.admin('POST', '/organisations', { name, plan });
  expectStatus(org, 201);
  const tok = await s.admin('POST', `/organisations/${org.body.id}/admin-tokens`, { role });
  expectStatus(tok, 201);
  return { id: org.body.id as string, token: tok.body.token as string, tokenId: tok.body.id as string };
}
