/** Deterministic filler derived from the event id, so a reader can check a payload is intact. */
export function padFor(eventId: string, length: number): string {
  return eventId.replaceAll('-', '').repeat(Math.ceil(length / 32) + 1).slice(0, length);
}
