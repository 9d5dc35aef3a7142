/** Structural copy of the event store's NewEvent so contracts does not depend on the store. */
export interface NewEventLike {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}
