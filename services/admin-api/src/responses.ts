import type { FastifyBaseLogger, RouteOptions } from 'fastify';
import { z } from 'zod';
import { ErrorResponse } from './context.ts';

/**
 * The admin API's response schemas: the OpenAPI document (/docs) describes every answer from them,
 * and the serializer below checks the answers against them.
 *
 * Objects are "loose" (fields beyond the ones named pass through): they name what a client may rely
 * on, and an answer that carries more is not an error. Where a schema is a guard (token listings:
 * never a hash), it is a strict z.object, whose unnamed keys are dropped on the way out.
 */

const position = z.number().int().nullable().describe('event-log position of the write (pass it as ?after= to read your own write)');
const time = z.string().describe('RFC 3339 time');
const loose = z.looseObject;
/**
 * A response schema as the routes see it: the zod type provider would otherwise check each
 * handler's return type against it, and handlers build answers from read-model documents whose
 * fields are `unknown`. The check happens at run time instead (responseSerializer).
 */
const documented = (s: z.ZodType): z.ZodType<any> => s;

export const Positioned = loose({ position: position.optional() });
export const Items = (item: z.ZodType) => documented(loose({ items: z.array(item) }));
export const Page = (item: z.ZodType) => documented(loose({ items: z.array(item), total: z.number().int().optional(), nextCursor: z.union([z.string(), z.number()]).nullable().optional() }));
export const NoContent = z.null().describe('no content');
export const Anything = z.unknown();

export const SchemaFieldView = documented(loose({ key: z.string(), label: z.string(), type: z.string(), syncedBy: z.string().nullable().optional() }));
export const ListView = documented(loose({
  id: z.string(), name: z.string(), orgId: z.string().optional(), description: z.string().nullable().optional(),
  fields: z.array(SchemaFieldView).optional(), sync: loose({ provider: z.string() }).nullable().optional(),
  counts: loose({ active: z.number(), inactive: z.number() }).optional(), scimBaseUrl: z.string().nullable().optional(), position: position.optional(),
}));
const personView = loose({
  id: z.string(), listId: z.string().optional(), status: z.enum(['active', 'inactive']), fields: z.record(z.string(), z.unknown()), position: position.optional(),
});
export const TimelineEntry = documented(loose({ position: z.number(), type: z.string(), at: time, actor: z.unknown(), source: z.unknown(), fieldChanges: z.array(z.unknown()) }));
export const PersonView = documented(personView);
export const PersonPatched = documented(personView.extend({ warning: z.string().optional() }));
export const PersonDetail = documented(personView.extend({
  linked: z.boolean(), lockedFields: z.array(z.string()), syncedBy: z.string().nullable(), groups: z.array(loose({ id: z.string(), displayName: z.unknown() })),
  createdAt: time, updatedAt: time, timeline: z.array(TimelineEntry),
}));
export const OrganisationView = documented(loose({ id: z.string(), name: z.string().optional(), plan: z.string(), position: position.optional() }));
export const AdminTokenView = documented(loose({ id: z.string(), prefix: z.string().nullable(), role: z.string(), orgId: z.string().nullable() }));
export const IssuedAdminToken = documented(loose({ id: z.string(), token: z.string().describe('the bearer token; shown once, only its hash is stored'), prefix: z.string(), role: z.string(), orgId: z.string().nullable() }));
export const SyncView = documented(loose({ connected: z.boolean(), position: position.optional() }));
export const MappingsView = documented(loose({ mappings: z.array(loose({ source: z.string(), field: z.string() })), groupRules: z.array(loose({ group: z.string(), field: z.string() })) }));
export const CatalogueView = documented(loose({ attributes: z.array(loose({ source: z.string() })).optional() }));
export const LogEntry = documented(loose({ id: z.string(), operation: z.string(), status: z.enum(['SUCCESS', 'SKIPPED', 'FAILED']), at: time.optional(), resourceName: z.string().nullable() }));
export const SessionView = documented(loose({ id: z.string(), listId: z.string(), name: z.string().optional() }));
export const SessionPerson = documented(loose({ id: z.string(), fields: z.record(z.string(), z.unknown()) }));
export const ChangesetView = documented(loose({ id: z.string().optional(), changesetId: z.string().optional(), status: z.string().optional(), counts: z.unknown().optional(), position: position.optional() }));
export const ImportView = documented(loose({ id: z.string(), status: z.string(), position: position.optional() }));
export const EntraView = documented(loose({ connected: z.boolean(), position: position.optional() }));
export const EntraRunView = documented(loose({ runId: z.string(), status: z.string() }));
export const RebuildStatus = documented(loose({ running: z.boolean().optional() }));
export const AuditHead = documented(loose({ position: z.number().int(), digest: z.string().nullable() }));
export const AuditVerify = documented(loose({ ok: z.boolean() }));
export const Principal = documented(loose({ tokenId: z.string(), orgId: z.string().nullable(), role: z.string() }));
export const GroupView = documented(loose({ id: z.string(), displayName: z.string() }));
export const Ndjson = documented(z.string().describe('application/x-ndjson: one JSON event per line'));

/** every admin route answers errors in one shape */
export const ERROR_RESPONSES = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;

/**
 * onRoute: every route of the admin API documents its success answer (a 2xx schema); the error
 * answers are added to each. A route without a success schema is a startup error (and fails the
 * OpenAPI test), so the description cannot fall behind the routes.
 */
export function requireResponseSchemas(route: RouteOptions): void {
  if (route.method === 'HEAD' || (Array.isArray(route.method) && route.method.includes('HEAD') && route.method.length === 1)) return;
  if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
  const response = (route.schema?.response ?? {}) as Record<string, unknown>;
  if (!Object.keys(response).some((k) => /^2(\d\d|xx)$/i.test(k))) {
    throw new Error(`admin route ${String(route.method)} ${route.url} has no success response schema (schema.response[2xx])`);
  }
  route.schema = { ...route.schema, response: { ...ERROR_RESPONSES, ...response } };
}

/**
 * Serialises answers with their zod response schema. An answer that does not match its schema is a
 * bug in the route or the schema: under tests (VITEST, unless MUSTER_STRICT_RESPONSES=0; or MUSTER_STRICT_RESPONSES=1) it fails the
 * request, so the suite catches the drift; in production the answer is sent as the handler made it
 * and the mismatch is logged (a client gets its data, an operator sees the bug).
 */
export function responseSerializer(log: () => FastifyBaseLogger, strict = process.env.MUSTER_STRICT_RESPONSES === '1' || (Boolean(process.env.VITEST) && process.env.MUSTER_STRICT_RESPONSES !== '0')) {
  return ({ schema, method, url }: { schema: unknown; method: string; url: string }) => {
    const zs = (schema instanceof z.ZodType ? schema : (schema as { properties?: unknown }).properties) as z.ZodType;
    return (data: unknown) => {
      const r = z.safeEncode(zs, data);
      if (r.success) return JSON.stringify(r.data);
      const detail = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      if (strict) throw new Error(`the answer of ${method} ${url} does not match its response schema: ${detail}`);
      log().error({ method, url, detail }, 'answer does not match its response schema (sent as is)');
      return JSON.stringify(data);
    };
  };
}
export const TokenRevoked = documented(loose({ id: z.string(), revoked: z.boolean(), changed: z.boolean(), position: position.optional() }));
export const SnapshotWritten = documented(loose({ written: z.boolean() }));
export const EntraTestResult = documented(loose({ ok: z.boolean() }));
export const EntraRunStarted = documented(loose({ runId: z.string() }));
export const ImportError = loose({ row: z.number() });
export const Pushed = documented(loose({ changesetId: z.string(), position: position.optional() }));
export const ListDeleted = documented(loose({
  id: z.string(), status: z.enum(['archived', 'erased']), eraseAfter: time, erasing: z.boolean(), position: z.number().int().nullable(),
}));
export const FieldRemoved = documented(loose({ key: z.string(), removed: z.literal(true), position: z.number().int().nullable() }));
export const RetentionRun = documented(loose({ retention: z.number().int(), listsErased: z.number().int(), peopleOfDeletedLists: z.number().int(), errors: z.array(z.string()) }));
export const PersonErasure = documented(loose({
  personId: z.string(), erased: z.literal(true), alreadyErased: z.boolean(), position: z.number().int().nullable(),
}));
export const SubjectAccess = documented(loose({
  exportedAt: time, upToPosition: z.number().int(), list: loose({ id: z.string(), name: z.string() }),
  person: loose({ id: z.string(), status: z.enum(['active', 'inactive']), fields: z.record(z.string(), z.unknown()) }),
  scimResource: z.record(z.string(), z.unknown()).nullable(), groups: z.array(loose({ id: z.string() })),
  history: z.array(loose({ position: z.number(), type: z.string(), at: time, actor: z.unknown(), source: z.unknown(), data: z.unknown() })),
  groupHistory: z.array(loose({ position: z.number(), type: z.string(), groupId: z.string().nullable(), displayName: z.string().nullable() })),
}));
