/**
 * The event store seen with personal data sealed on the way in and opened on the way out. It wraps
 * the hash-chained store, so the chain (and `muster audit verify`, the head digest) covers what is
 * stored: the ciphertext. Readers through it get clear values, or `[erased]` where a key is gone;
 * readers of the store underneath (verification) see the stored form.
 */
import { revisionsNow, type EventStore, type NewEvent, type RecordedEvent, type StreamAppend } from '@muster/event-store/port';
import { subjectsToOpen, subjectsToSeal, type PersonalDataVault } from './vault.ts';

export function withPersonalData(store: EventStore, vault: PersonalDataVault): EventStore {
  const sealAll = async (events: NewEvent[]): Promise<NewEvent[]> => {
    const subjects = new Set<string>();
    for (const e of events) subjectsToSeal(e.type, e.data, subjects);
    if (!subjects.size) return events;
    await vault.prepare(subjects, true);
    return events.map((e) => {
      const data = vault.seal(e.type, e.data, e.eventId);
      return data === e.data ? e : { ...e, data };
    });
  };
  const openAll = (events: RecordedEvent[]): RecordedEvent[] | Promise<RecordedEvent[]> => {
    const subjects = new Set<string>();
    const legacy = new Set<string>();
    for (const e of events) {
      subjectsToOpen(e.type, e.data, subjects, legacy);
      if (e.type === 'PersonErased' && typeof e.data.personId === 'string') vault.forget(e.data.personId);
    }
    const done = () => events.map((e) => {
      const data = vault.open(e.type, e.data, e.eventId);
      return data === e.data ? e : { ...e, data };
    });
    // the usual case on a hot read path (a projection, a rebuild): every key already cached, no await
    if (vault.preparedFor(subjects, legacy)) return done();
    return Promise.all([vault.prepare(subjects, false), vault.prepare(legacy, false, { legacy: true })]).then(done);
  };
  const sync = revisionsNow(store);
  return {
    appendToStream: async (streamId, events, options) => store.appendToStream(streamId, await sealAll(events), options),
    ...(store.appendToStreams ? {
      appendToStreams: async (appends: StreamAppend[]) => {
        const sealed: StreamAppend[] = [];
        for (const a of appends) sealed.push({ ...a, events: await sealAll(a.events) });
        return store.appendToStreams!(sealed);
      },
    } : {}),
    readStream: async (streamId, o) => openAll(await store.readStream(streamId, o)),
    readAll: async (o) => openAll(await store.readAll(o)),
    subscribeToAll: (o, handler) => store.subscribeToAll(o, (e) => {
      const opened = openAll([e]);
      return Array.isArray(opened) ? handler(opened[0]) : opened.then((x) => handler(x[0]));
    }),
    headPosition: () => store.headPosition(),
    ...(store.currentRevision ? { currentRevision: (streamId: string) => store.currentRevision!(streamId) } : {}),
    ...(sync ? { currentRevisionNow: (streamId: string) => sync.currentRevisionNow(streamId) } : {}),
    close: () => store.close(),
  };
}
