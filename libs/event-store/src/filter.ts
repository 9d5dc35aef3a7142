import type { EventFilter } from './port.ts';

/**
 * Filter semantics shared by every adapter: an event matches when its stream id starts with one of
 * `streamPrefixes` AND its type is one of `eventTypes`. A missing or empty list does not constrain.
 */
export function matchesFilter(filter: EventFilter | undefined, streamId: string, type: string): boolean {
  if (!filter) return true;
  const { streamPrefixes, eventTypes } = filter;
  if (streamPrefixes && streamPrefixes.length > 0 && !streamPrefixes.some((p) => streamId.startsWith(p))) {
    return false;
  }
  if (eventTypes && eventTypes.length > 0 && !eventTypes.includes(type)) return false;
  return true;
}

export function isEmptyFilter(filter: EventFilter | undefined): boolean {
  return !filter || ((filter.streamPrefixes?.length ?? 0) === 0 && (filter.eventTypes?.length ?? 0) === 0);
}
