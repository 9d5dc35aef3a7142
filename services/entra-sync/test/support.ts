/** A stack pulling from a fake Graph, and the calls the scenarios make through the admin API. */
import { expect } from 'vitest';
import { FakeGraph } from '@muster/entra-graph/testing';
import { startStack, type Stack } from '../../../tests/helpers.ts';

export interface EntraStack { s: Stack; graph: FakeGraph; stop: () => Promise<void> }

export async function entraStack(opts: { pageSize?: number; memberSlice?: number; env?: Record<string, string> } = {}): Promise<EntraStack> {
  const graph = new FakeGraph({ pageSize: opts.pageSize ?? 200, memberSlice: opts.memberSlice });
  await graph.start();
  const s = await startStack({
    MUSTER_ENTRA_AUTHORITY_URL: graph.origin, MUSTER_GRAPH_URL: graph.origin, MUSTER_ENTRA_TICK_MS: '200', MUSTER_GRAPH_ATTEMPTS: '3', ...opts.env,
  });
  return { s, graph, stop: async () => { await s.stop(); await graph.stop(); } };
}

export interface ConnectOptions { groupIds: string[]; schedule?: { intervalMinutes: number } | null; extensionAttributes?: string[]; deactivationThreshold?: number | null; uniqueIdentifier?: string; secret?: string }

/** a list connected to the fake tenant (manual runs unless a schedule is given) */
export async function connectedList(e: EntraStack, name: string, o: ConnectOptions): Promise<string> {
  const list = await e.s.admin('POST', '/lists', { name });
  expect(list.status).toBe(201);
  const res = await e.s.admin('POST', `/lists/${list.body.id}/sync/entra`, {
    tenantId: e.graph.tenantId, clientId: e.graph.clientId, clientSecret: o.secret ?? e.graph.clientSecret, groupIds: o.groupIds,
    uniqueIdentifier: o.uniqueIdentifier ?? 'email', schedule: o.schedule === undefined ? null : o.schedule,
    ...(o.extensionAttributes ? { extensionAttributes: o.extensionAttributes } : {}),
    ...(o.deactivationThreshold !== undefined ? { deactivationThreshold: o.deactivationThreshold } : {}),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return list.body.id;
}

export interface Run {
  runId: string; status: string; trigger: string; mode: string; fullReason: string | null; pages: number; throttledWaits: number; held: number; changesetId: string | null;
  summary: { created: number; updated: number; deactivated: number; reactivated: number; unchanged: number; skipped: number; errors: number };
  error: { code: string; message: string } | null;
}

/** a run until it is no longer running */
export async function waitForRun(e: EntraStack, listId: string, runId: string, timeoutMs = 60_000): Promise<Run> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await e.s.admin('GET', `/lists/${listId}/sync/entra/runs/${runId}`);
    if (r.status === 200 && r.body.status !== 'running') return r.body as Run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${r.body?.status ?? r.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** a manual run, to its end */
export async function run(e: EntraStack, listId: string): Promise<Run> {
  const started = await e.s.admin('POST', `/lists/${listId}/sync/entra/runs`);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return waitForRun(e, listId, started.body.runId);
}

export interface Person { id: string; status: string; fields: Record<string, unknown>; scimResource?: Record<string, unknown> }

/** everyone on the list (active and inactive), by Entra user id */
export async function roster(e: EntraStack, listId: string): Promise<Map<string, Person>> {
  const out = new Map<string, Person>();
  let cursor: string | null = null;
  do {
    const r = await e.s.admin('GET', `/lists/${listId}/people?status=all&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (const p of r.body.items as Person[]) out.set(String(p.scimResource?.id ?? p.id), p);
    cursor = r.body.nextCursor ?? null;
  } while (cursor);
  return out;
}

export const summary = (o: Partial<Run['summary']>) => ({ created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0, skipped: 0, errors: 0, ...o });

/** `n` users named u1…un with mail, all members of `groupId` when given */
export function addUsers(graph: FakeGraph, n: number, prefix = 'u', extra: (i: number) => Record<string, unknown> = () => ({})): string[] {
  return Array.from({ length: n }, (_, i) => graph.addUser({
    givenName: `Given${i + 1}`, surname: `${prefix}${i + 1}`, displayName: `${prefix}${i + 1}`, mail: `${prefix}${i + 1}@school.example`,
    userPrincipalName: `${prefix}${i + 1}@school.onmicrosoft.com`, ...extra(i),
  }));
}

export function expectStatus(res: { status: number; body: unknown }, status: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
}

/** an organisation on a plan, with an owner token */
export async function organisation(s: Stack, name: string, plan: 'pro' | 'business' | 'enterprise') {
  const org = await s.admin('POST', '/organisations', { name, plan });
  expectStatus(org, 201);
  const tok = await s.admin('POST', `/organisations/${org.body.id}/admin-tokens`, { role: 'owner' });
  expectStatus(tok, 201);
  return { id: org.body.id as string, token: tok.body.token as string };
}
