/**
 * SCIM over HTTP, the pieces every route plugin shares: the content type, the error body and the
 * one map from any error to a SCIM status, query parameter parsing, and sending a resource.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '@muster/domain';
import { DOMAIN_STATUS } from '@muster/http';
import { ReadStoreUnavailableError } from '@muster/read-store';
import { ERROR_SCHEMA, ScimError, projectAttributes, type ResourceSchema, type ScimResource } from '@muster/scim';
import type { ListQuery } from './people.ts';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

export type ErrorBody = { schemas: [string]; status: string; scimType?: string; detail: string };

export const errorBody = (status: number, detail: string, scimType?: string): ErrorBody =>
  ({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });

export function scimError(reply: FastifyReply, status: number, detail: string, scimType?: string) {
  return reply.status(status).type(SCIM_CONTENT_TYPE).send(errorBody(status, detail, scimType));
}

/** Any error → SCIM status, scimType and detail (never a stack; unknown errors are 500). */
export function describeError(err: unknown): { status: number; detail: string; scimType?: string; unexpected?: boolean } {
  if (err instanceof ScimError) return { status: err.status, detail: err.detail, scimType: err.scimType };
  if (err instanceof DomainError && Object.hasOwn(DOMAIN_STATUS, err.code)) return { status: DOMAIN_STATUS[err.code], detail: err.message, scimType: err.code === 'conflict' ? 'uniqueness' : err.code === 'invalid' ? 'invalidValue' : undefined };
  const e = err as Error & { statusCode?: number; code?: string };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, detail: 'request body is larger than this endpoint accepts (see maxPayloadSize in /ServiceProviderConfig)' };
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, detail: 'use Content-Type application/scim+json or application/json' };
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { status: 400, scimType: 'invalidSyntax', detail: 'request body is empty' };
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, detail: e.message, scimType: e.statusCode === 400 ? 'invalidSyntax' : undefined };
  if (err instanceof ReadStoreUnavailableError) return { status: 503, detail: `reads are unavailable for now (${err.message}); try again shortly`, unexpected: true };
  return { status: 500, detail: 'internal error', unexpected: true };
}

export type Projection = { attributes?: string | string[]; excludedAttributes?: string | string[] };

/** projectAttributes, skipped when nothing was asked for: our resources never hold returned=never/request attributes */
export const project = (r: ScimResource, proj: Projection, schema: ResourceSchema) =>
  proj.attributes === undefined && proj.excludedAttributes === undefined ? r : projectAttributes(r, proj, schema);

/** the first string of a header or query value */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) ? str(v[0]) : undefined);

// module-level helpers rather than closures made per call: they run on every list request
function queryNumber(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw ScimError.badRequest('invalidValue', `${name} must be an integer`);
  return n;
}

function queryText(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw ScimError.badRequest(name === 'filter' ? 'invalidFilter' : 'invalidValue', `${name} must be a single string`);
  return v;
}

/** Query parameters or a SearchRequest body → list query (wrong types → 400). */
export function listQueryOf(q: Record<string, unknown>): ListQuery {
  const sortOrder = queryText(q.sortOrder, 'sortOrder');
  if (sortOrder !== undefined && !/^(a|de)scending$/i.test(sortOrder)) throw ScimError.badRequest('invalidValue', 'sortOrder must be "ascending" or "descending"');
  return { filter: queryText(q.filter, 'filter'), startIndex: queryNumber(q.startIndex, 'startIndex'), count: queryNumber(q.count, 'count'), sortBy: queryText(q.sortBy, 'sortBy'), sortOrder };
}

function attributeList(v: unknown, name: string): string | string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw ScimError.badRequest('invalidValue', `${name} must be a comma-separated string or an array of strings`);
}

/** attributes / excludedAttributes of a query or a SearchRequest body */
export function projectionOf(src: Record<string, unknown>): Projection {
  return { attributes: attributeList(src.attributes, 'attributes'), excludedAttributes: attributeList(src.excludedAttributes, 'excludedAttributes') };
}

export const queryOf = (req: FastifyRequest) => (req.query ?? {}) as Record<string, unknown>;
export const idParam = (req: FastifyRequest) => (req.params as { id: string }).id;

/** A resource with its ETag (and Location on 201), projected as asked. */
export function sendResource(reply: FastifyReply, proj: Projection, resource: ScimResource, status: number, schema: ResourceSchema) {
  const meta = resource.meta as { version?: string; location?: string } | undefined;
  if (meta?.version) reply.header('ETag', meta.version);
  if (status === 201 && meta?.location) reply.header('Location', meta.location);
  return reply.status(status).send(project(resource, proj, schema));
}
