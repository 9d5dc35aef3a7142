/**
 * The mapping service's bus contract: request schemas, reply envelope and answers. The service
 * answers these subjects; every other service talks to it through MappingClient (client.ts).
 */
import { z } from 'zod';
import { ColumnMapping, FieldMapping, GroupRule } from '@muster/contracts';

/** Replies on the bus are envelopes so domain errors keep their code across the wire. */
export type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

export const MapRequest = z.object({
  listId: z.string(),
  resource: z.record(z.string(), z.unknown()),
  groups: z.array(z.string()).optional(),
});
/** CSV rows to map with a list's field types: the file's header, the mapped columns, the rows (a batch) */
export const MapCsvRequest = z.object({
  listId: z.string(),
  columns: z.array(z.string()),
  mapping: z.record(z.string(), ColumnMapping),
  rows: z.array(z.array(z.string())).max(5_000),
});

export const SetMappingsRequest = z.object({
  listId: z.string(),
  mappings: z.array(FieldMapping),
  groupRules: z.array(GroupRule).default([]),
  actor: z.object({ kind: z.enum(['admin', 'scim-token', 'system', 'cli']), id: z.string() }),
  correlationId: z.string(),
  /** where the change was requested (stamped on the MappingsChanged event) */
  source: z.object({ requestId: z.string().optional(), method: z.string().optional(), path: z.string().optional() }).optional(),
  traceparent: z.string().optional(),
});


export interface SetMappingsResult {
  changed: boolean;
  /** position of the save's last event (read-your-writes), null when nothing was written */
  position: number | null;
  /** people whose fields the run changed (so far, while pending) */
  remapped: number;
  /** pending: the run goes on after this answer (GET mappings shows its progress) */
  remap: { pending: boolean; mappingsVersion: number };
}
