/** A list's schema fields. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SchemaField, streams } from '@muster/contracts';
import { DomainError, handleCommand, listDecider, syncedFieldKeys } from '@muster/domain';
import { helpers, ListParams } from '../context.ts';
import { requireRole, requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

export const fieldRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store } = ctx;
  const { cmd, listFor } = helpers(ctx);

  api.get('/lists/:id/fields', { schema: { tags: ['fields'], response: { 200: R.Items(R.SchemaFieldView) }, summary: "A list's schema fields, with the sync that owns each (null: local-only)", params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const synced = syncedFieldKeys(list);
    return { items: list.fields.map((f) => ({ ...f, syncedBy: synced.has(f.key) ? list.sync!.provider : null })) };
  });
  api.post('/lists/:id/fields', { schema: { tags: ['fields'], response: { 201: R.SchemaFieldView }, summary: 'Add a schema field (409 when the key exists)', params: ListParams, body: SchemaField } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    await listFor(p, req.params.id);
    if (req.body.type === 'enum' && !(req.body.enumValues && req.body.enumValues.length)) throw new DomainError('invalid', 'an enum field needs enumValues');
    if (req.body.type !== 'enum' && req.body.enumValues) throw new DomainError('invalid', 'enumValues are only allowed on enum fields');
    if (req.body.enumValues && new Set(req.body.enumValues).size !== req.body.enumValues.length) throw new DomainError('invalid', 'enumValues must be distinct');
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'AddField', field: req.body }, cmd(req, p));
    return reply.status(201).send({ ...req.body, syncedBy: null, position: res.position });
  });
  api.delete('/lists/:id/fields/:key', {
    schema: {
      tags: ['fields'], response: { 200: R.FieldRemoved }, params: ListParams.extend({ key: z.string().min(1).max(64) }),
      summary: 'Remove a field (owners): its values leave the read models and it can no longer be mapped (409 while a mapping or group rule fills it)',
    },
  }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'RemoveField', key: req.params.key }, cmd(req, p));
    return { key: req.params.key, removed: true as const, position: res.position };
  });
};
