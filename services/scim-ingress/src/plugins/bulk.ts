/** /Bulk (RFC 7644 §3.7): operations run one at a time, bulkId references resolved as they settle. */
import type { FastifyInstance } from 'fastify';
import { ScimError, isPlainObject } from '@muster/scim';
import type { Call, ScimContext } from '../context.ts';
import { BULK_RESPONSE_SCHEMA, describeError, errorBody } from '../http.ts';

export async function bulkRoutes(app: FastifyInstance) {
  const ctx = app.scim;
  app.post('/Bulk', { bodyLimit: ctx.bulkMaxPayloadSize }, async (req, reply) => {
    const call = req.scimCall!;
    call.resourceType = 'Bulk'; call.operation = 'BULK';
    const body = req.body;
    if (!isPlainObject(body)) throw ScimError.badRequest('invalidSyntax', 'a BulkRequest body must be a JSON object');
    const ops = body.Operations ?? body.operations;
    if (!Array.isArray(ops)) throw ScimError.badRequest('invalidSyntax', 'a BulkRequest needs an "Operations" array');
    if (ops.length > ctx.bulkMaxOperations) throw new ScimError({ status: 413, detail: `a BulkRequest may hold at most ${ctx.bulkMaxOperations} operations (maxOperations); this one has ${ops.length}` });
    const failOnErrors = body.failOnErrors;
    if (failOnErrors !== undefined && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1)) throw ScimError.badRequest('invalidValue', 'failOnErrors must be a positive integer');
    const results = await runBulk(ctx, call, ops, failOnErrors as number | undefined);
    return reply.status(200).send({ schemas: [BULK_RESPONSE_SCHEMA], Operations: results });
  });
}

interface BulkResult { method: string; bulkId?: string; version?: string; location?: string; status: string; response?: unknown }

/**
 * Bulk operations run one at a time. An operation whose data or path refers to `bulkId:x`
 * waits until the operation with that bulkId has run (so forward references work); references
 * that can never be resolved (unknown, failed or circular) fail that operation with 409.
 */
async function runBulk(ctx: ScimContext, parent: Call, ops: unknown[], failOnErrors: number | undefined): Promise<BulkResult[]> {
  const resolved = new Map<string, string>();
  const failed = new Set<string>();
  const defined = new Set<string>();
  for (const op of ops) if (isPlainObject(op) && typeof op.bulkId === 'string') defined.add(op.bulkId);
  const refsOf = (v: unknown, out: Set<string>) => {
    if (typeof v === 'string') { const m = /^bulkId:(.+)$/.exec(v); if (m) out.add(m[1]); }
    else if (Array.isArray(v)) for (const x of v) refsOf(x, out);
    else if (isPlainObject(v)) for (const x of Object.values(v)) refsOf(x, out);
    return out;
  };
  const substitute = (v: unknown): unknown => {
    if (typeof v === 'string') { const m = /^bulkId:(.+)$/.exec(v); return m && resolved.has(m[1]) ? resolved.get(m[1]) : v; }
    if (Array.isArray(v)) return v.map(substitute);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
    return v;
  };
  /** references in the data (whole string values) and in the path (a `bulkId:x` segment) */
  const allRefs = (op: Record<string, unknown>) => {
    const out = refsOf(op.data, new Set());
    if (typeof op.path === 'string') for (const m of op.path.matchAll(/bulkId:([^/?#]+)/g)) out.add(m[1]);
    return out;
  };
  const results: Array<BulkResult | undefined> = new Array(ops.length);
  const pending = ops.map((_, i) => i);
  let errors = 0;
  const fail = (i: number, method: string, bulkId: string | undefined, status: number, detail: string, scimType?: string) => {
    errors++;
    if (bulkId) failed.add(bulkId);
    results[i] = { method, ...(bulkId ? { bulkId } : {}), status: String(status), response: errorBody(status, detail, scimType) };
  };
  while (pending.length && !(failOnErrors !== undefined && errors >= failOnErrors)) {
    // the first operation whose references are settled (resolved, failed or never defined)
    let pick = pending.findIndex((i) => {
      const op = ops[i];
      if (!isPlainObject(op)) return true;
      for (const r of allRefs(op)) if (defined.has(r) && !resolved.has(r) && !failed.has(r)) return false;
      return true;
    });
    const circular = pick < 0;
    if (circular) pick = 0;
    const i = pending.splice(pick, 1)[0];
    const op = ops[i];
    const method = isPlainObject(op) && typeof op.method === 'string' ? op.method.toUpperCase() : '';
    const bulkId = isPlainObject(op) && typeof op.bulkId === 'string' ? op.bulkId : undefined;
    if (!isPlainObject(op)) { fail(i, method, bulkId, 400, 'each operation must be an object', 'invalidSyntax'); continue; }
    if (circular) { fail(i, method, bulkId, 409, 'circular bulkId references cannot be resolved', 'invalidValue'); continue; }
    const refs = allRefs(op);
    const unresolved = [...refs].filter((r) => !resolved.has(r));
    if (unresolved.length) { fail(i, method, bulkId, 409, `bulkId reference${unresolved.length > 1 ? 's' : ''} ${unresolved.map((r) => `"bulkId:${r}"`).join(', ')} could not be resolved`, 'invalidValue'); continue; }
    const path = typeof op.path === 'string' ? op.path.replace(/bulkId:([^/?#]+)/g, (all, ref: string) => resolved.get(ref) ?? all) : '';
    const m = /^\/?(Users|Groups)(?:\/([^/?#]+))?\/?$/i.exec(path);
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) { fail(i, method, bulkId, 400, 'method must be POST, PUT, PATCH or DELETE', 'invalidSyntax'); continue; }
    if (!m) { fail(i, method, bulkId, 400, `path must be /Users, /Groups, /Users/{id} or /Groups/{id}, got "${path.slice(0, 200)}"`, 'invalidPath'); continue; }
    if (method === 'POST' && !bulkId) { fail(i, method, bulkId, 400, 'POST operations need a bulkId', 'invalidSyntax'); continue; }
    if (bulkId !== undefined && resolved.has(bulkId)) { fail(i, method, bulkId, 400, `bulkId "${bulkId}" is used twice`, 'invalidValue'); continue; }
    const type = (m[1].toLowerCase() === 'users' ? 'Users' : 'Groups') as 'Users' | 'Groups';
    let id: string | undefined;
    try { id = m[2] !== undefined ? decodeURIComponent(m[2]) : undefined; } catch { fail(i, method, bulkId, 400, `path "${path.slice(0, 200)}" is not valid percent-encoding`, 'invalidPath'); continue; }
    const c: Call = { ...parent, method, path: `/scim/v2/lists/${parent.list.listId}/${type}${id ? `/${id}` : ''}`, operation: undefined, resourceType: undefined, resourceId: undefined, logged: false };
    try {
      const { status, out } = await ctx.write(c, method, type, id, substitute(op.data), typeof op.version === 'string' ? op.version : undefined);
      const resource = out.resource;
      const rid = resource ? String(resource.id) : id;
      if (bulkId && rid) resolved.set(bulkId, rid);
      const version = (resource?.meta as { version?: string } | undefined)?.version;
      results[i] = { method, ...(bulkId ? { bulkId } : {}), ...(version ? { version } : {}), ...(rid && method !== 'DELETE' ? { location: `${ctx.baseUrl(parent.list.listId)}/${type}/${rid}` } : {}), status: String(status) };
    } catch (err) {
      const d = describeError(err);
      await ctx.logOutcome(c, 'FAILED', { status: String(d.status), ...(d.scimType ? { scimType: d.scimType } : {}), detail: d.detail });
      fail(i, method, bulkId, d.status, d.detail, d.scimType);
    }
  }
  return results.filter((r): r is BulkResult => r !== undefined);
}
