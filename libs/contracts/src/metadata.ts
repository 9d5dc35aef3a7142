import type { NewEventLike } from './types.ts';
import { eventSchemas, parseEvent, type DomainEvent } from './events.ts';
import type { CommandContext, EventMetadata } from './envelope.ts';

/**
 * Stamp domain events with metadata, ready to append. Every event is validated by its schema here,
 * the one door to every append (EventValidationError: a bug; nothing is appended).
 */
export function toNewEvents(events: DomainEvent[], ctx: CommandContext): NewEventLike[] {
  for (const e of events) parseEvent(e.type, e.data);
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
