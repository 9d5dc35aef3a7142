import { streams } from '@muster/contracts';
import { revisionsNow, streamRevision, type EventStore, type Subscription } from '@muster/event-store';
import { LIST_RESPONSE_SCHEMA, type ScimResource } from '@muster/scim';
import { reservationStream } from '@muster/domain';
import type { ProjectionWaiter } from '@muster/read-models';

/**
 * Answers to the lookup every IdP makes before it writes, `GET /Users?filter=userName eq "…"`,
 * kept serialized on the thread serving HTTP, so that a hit costs a map lookup and one revision
 * check instead of a round trip to the read store.
 *
 * An entry is the default representation of one linked user (what the read path would return
 * without attributes/excludedAttributes), stamped with
 *   - the revision of the person's stream it shows, and
 *   - the list's group stamp when it was built (the position of the last group event of the list
 *     this process had seen), because the `groups` attribute changes through group streams.
 * It is served only while both still hold: the person stream's current revision is asked of the
 * event store on every hit (an index lookup on the embedded store), and the list's group stamp
 * moves on every group event (this ingress's own group writes synchronously, other writers'
 * through a subscription). So a hit is never older than the event store; it is at least as fresh
 * as the read model the slow path waits for.
 *
 * An entry built from read-model data (groups from the people/groups documents) is kept only when
 * the projection had applied every group event up to the stamp before that data was read, and
 * everything that was in the log when this cache started. A new person has no groups, so the
 * answer to a create can always be kept.
 *
 * A miss is decided without the read store too when the userName was never reserved in the list:
 * every SCIM user claims its userName (the domain's reservations) before its person event is appended, so a
 * reservation stream that does not exist means no user of the list has that userName.
 *
 * The same entries answer `GET /Users/{id}` (the resource itself, with its revision as the ETag).
 *
 * Bounded: beyond `max` entries or `maxChars` characters of JSON in all the oldest go first
 * (eviction looks at the first entry of each list); an answer longer than `MAX_ANSWER_CHARS` is not
 * kept (a user with large photos or certificates inline is rare, and is answered by the read store).
 */
export class UserNameAnswers {
  /** listId → userName (lower case) → entry */
  private readonly lists = new Map<string, Map<string, Entry>>();
  /** personId → its entry (GET /Users/{id} is answered from the same entries) */
  private readonly byPerson = new Map<string, Entry>();
  private count = 0;
  private chars = 0;
  private readonly groupStamps = new Map<string, number>();
  private startHead = Number.POSITIVE_INFINITY;
  private sub: Subscription | null = null;
  /** the store's cheapest revision lookup, bound once (hits call it on every answer); synchronous where the store can */
  private readonly revisionOf: (streamId: string) => number | Promise<number>;

  constructor(
    private readonly store: EventStore,
    /** how far the live projection has got (the ingress's ProjectionWaiter) */
    private readonly projection: Pick<ProjectionWaiter, 'reached' | 'current'>,
    /** the resource as the read path sends it when nothing was asked for */
    private readonly serialize: (resource: ScimResource) => string,
    private readonly max = 200_000,
    private readonly maxChars = 256 * 1024 * 1024,
  ) {
    const sync = revisionsNow(store);
    this.revisionOf = sync ? (id) => sync.currentRevisionNow(id)
      : store.currentRevision ? store.currentRevision.bind(store) : (id) => streamRevision(store, id);
  }

  async start(): Promise<void> {
    this.startHead = await this.store.headPosition();
    this.sub = this.store.subscribeToAll({ fromPosition: this.startHead, filter: { streamPrefixes: ['group-'] } }, (e) => {
      const listId = (e.data as { listId?: unknown }).listId;
      if (typeof listId === 'string') this.noteGroupEvent(listId, e.position);
    });
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
  }

  get size(): number { return this.count; }

  /** the list's group stamp: the position of the last group event of the list seen here (-1: none) */
  groupStamp(listId: string): number {
    return this.groupStamps.get(listId) ?? -1;
  }

  /** a group event of the list at `position` (this ingress's own writes call this right after the append) */
  noteGroupEvent(listId: string, position: number): void {
    if (position > this.groupStamp(listId)) this.groupStamps.set(listId, position);
  }

  /**
   * Whether read-model data read from now on reflects every group event up to `stamp` (and all
   * the log held when this cache started). Call it before reading that data.
   */
  async projectedThrough(stamp: number): Promise<boolean> {
    const need = Math.max(stamp, this.startHead);
    return this.projection.reached(need) || (await this.projection.current()) >= need;
  }

  /** Keep `resource` (a linked user of `listId` at stream revision `revision`, built at group stamp `stamp`). */
  remember(listId: string, personId: string, revision: number, resource: ScimResource, stamp: number): void {
    if (typeof resource.userName !== 'string') return;
    const name = resource.userName.toLowerCase();
    let list = this.lists.get(listId);
    if (!list) { list = new Map(); this.lists.set(listId, list); }
    const held = list.get(name);
    if (held && held.personId === personId && held.revision === revision && held.stamp === stamp) return; // already kept
    if (held) this.drop(listId, name, held);
    const json = this.serialize(resource);
    if (json.length > MAX_ANSWER_CHARS) return;
    // an entry of this person under another name (before a rename) is stale: drop it
    const other = this.byPerson.get(personId);
    if (other) this.drop(other.listId, other.name, other);
    const entry: Entry = { listId, name, personId, stream: streams.person(personId), revision, stamp, json, seq: this.seq++ };
    list.set(name, entry);
    this.byPerson.set(personId, entry);
    this.count++;
    this.chars += json.length;
    while ((this.count > this.max || this.chars > this.maxChars) && this.evictOldest());
  }

  private seq = 0;

  /** drops the oldest entry (each list's map is in insertion order, so the oldest is a first entry) */
  private evictOldest(): boolean {
    let oldest: { list: Map<string, Entry>; key: string; seq: number } | null = null;
    for (const list of this.lists.values()) {
      const first = list.entries().next();
      if (!first.done && (!oldest || first.value[1].seq < oldest.seq)) oldest = { list, key: first.value[0], seq: first.value[1].seq };
    }
    if (!oldest) return false;
    this.remove(oldest.list, oldest.key);
    return true;
  }

  private remove(list: Map<string, Entry>, name: string): void {
    const e = list.get(name);
    if (!e) return;
    list.delete(name);
    if (this.byPerson.get(e.personId) === e) this.byPerson.delete(e.personId);
    this.count--;
    this.chars -= e.json.length;
  }

  private drop(listId: string, name: string, e: Entry): void {
    const list = this.lists.get(listId);
    if (list?.get(name) === e) this.remove(list, name);
  }

  /**
   * The ListResponse body for `userName eq value` in `listId`, or null when it cannot be answered
   * here (then the read store answers it). `startIndex` ≥ 1, `count` ≥ 0 as already capped.
   * Synchronous (no promise) when the store answers revisions synchronously (the embedded one).
   */
  answer(listId: string, value: string, startIndex: number, count: number): string | null | Promise<string | null> {
    const lower = value.toLowerCase();
    const list = this.lists.get(listId);
    const e = list?.get(lower);
    if (e) {
      if (e.stamp !== this.groupStamp(listId)) { this.drop(listId, lower, e); return null; }
      const rev = this.revisionOf(e.stream);
      return typeof rev === 'number' ? this.hit(listId, lower, e, rev, startIndex, count) : rev.then((r) => this.hit(listId, lower, e, r, startIndex, count));
    }
    // never reserved: nobody in the list has (or had) this userName
    const rev = this.revisionOf(reservationStream({ listId, kind: 'userName', value: lower }));
    return typeof rev === 'number' ? noneIf(rev, startIndex) : rev.then((r) => noneIf(r, startIndex));
  }

  /**
   * The user `personId` of `listId` as GET /Users/{id} sends it when nothing was asked for, with its
   * stream revision (the ETag), or null when the kept entry is missing or stale.
   */
  resource(listId: string, personId: string): { json: string; revision: number } | null | Promise<{ json: string; revision: number } | null> {
    const e = this.byPerson.get(personId);
    if (!e || e.listId !== listId) return null;
    if (e.stamp !== this.groupStamp(listId)) { this.drop(listId, e.name, e); return null; }
    const check = (revision: number) => {
      if (revision === e.revision && this.byPerson.get(personId) === e) return { json: e.json, revision };
      this.drop(listId, e.name, e);
      return null;
    };
    const rev = this.revisionOf(e.stream);
    return typeof rev === 'number' ? check(rev) : rev.then(check);
  }

  private hit(listId: string, lower: string, e: Entry, revision: number, startIndex: number, count: number): string | null {
    // the entry may have been replaced or dropped while the revision was looked up
    if (revision === e.revision && this.lists.get(listId)?.get(lower) === e) return listResponse(1, startIndex, startIndex === 1 && count > 0 ? e.json : null);
    this.drop(listId, lower, e);
    return null;
  }
}

/** answers longer than this (in UTF-16 code units) are left to the read store */
export const MAX_ANSWER_CHARS = 64 * 1024;

interface Entry {
  listId: string;
  /** the userName, lower case: the entry's key in its list */
  name: string;
  personId: string;
  /** the person's stream id (kept: a string looked up again and again keeps its hash) */
  stream: string;
  revision: number;
  stamp: number;
  json: string;
  /** insertion order across lists, for eviction */
  seq: number;
}

const HEAD = `{"schemas":[${JSON.stringify(LIST_RESPONSE_SCHEMA)}],"totalResults":`;

const noneIf = (reservationRevision: number, startIndex: number) => (reservationRevision === -1 ? listResponse(0, startIndex, null) : null);

/** what JSON.stringify(buildListResponse(resources, total, startIndex)) writes, with the one resource already serialized */
function listResponse(total: number, startIndex: number, json: string | null): string {
  return `${HEAD}${total},"startIndex":${startIndex},"itemsPerPage":${json === null ? 0 : 1},"Resources":[${json ?? ''}]}`;
}
