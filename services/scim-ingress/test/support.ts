/** Shared setup of the SCIM ingress conformance suite: the whole runtime over real HTTP. */
import { expect } from 'vitest';
import type { RecordedEvent } from '@muster/event-store';
import { startStack, type Stack } from '../../../tests/helpers.ts';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

export interface Res { status: number; body: any; headers: Headers; text: string }

export interface ScimClient {
  stack: Stack;
  listId: string;
  token: string;
  base: string;
  /** a request to `${base}${path}`; body sent as JSON text unless it is a string */
  req: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Res>;
  /** POST /Users with a minimal valid body merged with `extra` */
  user: (userName: string, extra?: Record<string, unknown>) => Promise<Res>;
  events: () => Promise<RecordedEvent[]>;
  /** every event appended after `mark` (a position) */
  since: (mark: number) => Promise<RecordedEvent[]>;
  head: () => Promise<number>;
  /** the provisioning log entries of the list (admin API) */
  log: () => Promise<any[]>;
}

export async function connectList(stack: Stack, opts: { uniqueIdentifier?: 'employeeNumber' | 'userName' | 'email'; name?: string } = {}): Promise<Omit<ScimClient, 'stack'>> {
  const list = await stack.admin('POST', '/lists', { name: opts.name ?? `List ${Math.random().toString(36).slice(2, 8)}` });
  expect(list.status).toBe(201);
  const listId = list.body.id as string;
  expect((await stack.admin('POST', `/lists/${listId}/sync/scim`, { uniqueIdentifier: opts.uniqueIdentifier ?? 'userName' })).status).toBe(201);
  const tok = await stack.admin('POST', `/lists/${listId}/sync/scim/tokens`, {});
  expect(tok.status).toBe(201);
  const token = tok.body.token as string;
  const base = tok.body.scimBaseUrl as string;
  // through the stack's transport: inject() unless the stack was started for real HTTP
  const req = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    stack.scim(token, method, path.startsWith('http') ? path : `${base}${path}`, body, headers);
  const user = (userName: string, extra: Record<string, unknown> = {}) => req('POST', '/Users', { schemas: [USER], userName, ...extra });
  const store = stack.running.adapters.store;
  return {
    listId, token, base, req, user,
    events: () => store.readAll(),
    since: (mark: number) => store.readAll({ fromPosition: mark }),
    head: () => store.headPosition(),
    log: async () => {
      // the provisioning log is a projection: wait until it has caught up with the store
      const head = await store.headPosition();
      for (let i = 0; i < 200; i++) {
        const cp = await stack.running.adapters.readStore.getCheckpoint('main');
        if ((cp ?? -1) >= head) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const docs = await stack.running.adapters.readStore.collection('provisioning_log').find({ listId }, { sort: { position: 1 } });
      return docs;
    },
  };
}

export async function scimStack(env: Record<string, string> = {}, opts: Parameters<typeof connectList>[1] = {}): Promise<ScimClient> {
  const stack = await startStack(env);
  return { stack, ...(await connectList(stack, opts)) };
}

/** Domain events (not reservation bookkeeping or the request log) among `events`. */
export const domainEvents = (events: RecordedEvent[]) => events.filter((e) => /^(person|group)-/.test(e.streamId));

export function expectScimError(res: Res, status: number, scimType?: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/scim+json');
  expect(res.body.schemas).toEqual([ERROR]);
  expect(res.body.status).toBe(String(status));
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.detail.length).toBeGreaterThan(0);
  if (scimType) expect(res.body.scimType).toBe(scimType);
}

/**
 * Run `start` with these environment variables set (the ingress reads its own settings from the
 * environment when its stack starts), then put the environment back as it was, so no setting
 * leaks into the next test file run in the same worker.
 */
export async function withEnv<T>(vars: Record<string, string>, start: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await start();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
