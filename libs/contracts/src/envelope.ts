import { z } from 'zod';

/** Who caused an event. */
export const Actor = z.object({
  kind: z.enum(['admin', 'scim-token', 'system', 'cli']),
  id: z.string(),
});
export type Actor = z.infer<typeof Actor>;

/** Where the change came from: the admin API, an IdP over SCIM, Entra pull, CSV, or Muster itself. */
export const Source = z.object({
  kind: z.enum(['admin-api', 'scim', 'entra', 'csv', 'system', 'remap']),
  /** recognised IdP (okta, entra, ...) or the raw user agent */
  idp: z.string().optional(),
  userAgent: z.string().optional(),
  requestId: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  /** provisioning-log operation (CREATE, UPDATE, DEACTIVATE, ...) when the source is an IdP */
  operation: z.string().optional(),
  /** the changeset whose apply or rollback wrote the event */
  changesetId: z.string().optional(),
  /** the Entra pull run that wrote the event */
  runId: z.string().optional(),
});
export type Source = z.infer<typeof Source>;

/** Metadata every event carries (stored as the event's metadata). */
export const EventMetadata = z.object({
  eventId: z.string().uuid(),
  /** schema version of the event type */
  version: z.number().int().positive(),
  occurredAt: z.string().datetime(),
  correlationId: z.string(),
  causationId: z.string(),
  actor: Actor,
  source: Source,
  /** W3C trace context of the request that caused it */
  traceparent: z.string().optional(),
  /** hash chain (added by the event store's hash-chain decorator) */
  prevHash: z.string().optional(),
  /** the hash scheme (absent: version 1, see libs/event-store/src/hash-chain.ts) */
  hashVersion: z.number().int().positive().optional(),
  hash: z.string().optional(),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/** The envelope as auditors see it (export, replay): store facts plus metadata plus data. */
export interface EventEnvelope<T = Record<string, unknown>> extends EventMetadata {
  stream: string;
  revision: number;
  position: number;
  type: string;
  data: T;
}

/** Context a command handler needs to stamp metadata; time and ids are passed in. */
export interface CommandContext {
  actor: Actor;
  source: Source;
  correlationId: string;
  causationId?: string;
  now: Date;
  newId: () => string;
  traceparent?: string;
}
