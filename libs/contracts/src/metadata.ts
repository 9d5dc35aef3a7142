import type { NewEventLike } from './types.ts';
import { eventSchemas, type DomainEvent } from './events.ts';
import type { CommandContext, EventMetadata } from './envelope.ts';

/** Stamp domain events with metadata, ready to append. */
export function toNewEvents(events: DomainEvent[], ctx: CommandContext): NewEventLike[] {
  return events.map((e) => {
    const eventId = ctx.newId();
    const metadata: EventMetadata = {
      eventId,
      version: eventSchemas[e.type].version,
      occurredAt: ctx.now.toISOString(),
      correlationId: ctx.correlationId,
      causationId: ctx.causationId ?? ctx.correlationId,
      actor: ctx.actor,
      source: ctx.source,
      ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
    };
    return { eventId, type: e.type, data: e.data as Record<string, unknown>, metadata: metadata as unknown as Record<string, unknown> };
  });
}
