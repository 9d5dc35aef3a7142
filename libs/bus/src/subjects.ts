/**
 * Every bus subject Muster uses, named in one place. Add a subject here (with a
 * comment saying who publishes, who listens, and the payload) instead of
 * writing subject strings in services. Convention: `muster.<area>.<what>`,
 * lower-case tokens; request/reply subjects are verbs, notifications are past
 * tense. Functions build subjects that carry a variable token.
 */

/** A token that is safe to splice into a subject (no dots, wildcards or whitespace). */
function token(kind: string, value: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new TypeError(`invalid ${kind} for a bus subject: "${String(value)}" (allowed: letters, digits, _ and -)`);
  }
  return value;
}

export const subjects = {
  /** request/reply: map an identity-provider record to a roster entry (mapping service answers, queue group) */
  mappingMap: 'muster.mapping.map',

  /** request/reply: map a batch of CSV rows to field values `{ listId, columns, mapping, rows }` (mapping service answers, queue group) */
  mappingCsv: 'muster.mapping.csv',

  /** request/reply: list the attributes a mapping can read from (mapping service answers, queue group) */
  mappingCatalogue: 'muster.mapping.catalogue',

  /** request/reply: read a list's field mappings and group rules `{ listId }` (mapping service answers, queue group) */
  mappingGet: 'muster.mapping.get',

  /** request/reply: replace a list's field mappings and group rules (mapping service answers, queue group) */
  mappingSet: 'muster.mapping.set',

  /** request/reply: seal and keep a list's Entra client secret `{ listId, clientSecret }`, or forget it `{ listId, clientSecret: null }` (entra-sync answers, queue group) */
  entraSecret: 'muster.entra.secret',

  /** request/reply: test a list's Entra connection (a token, then each group) `{ listId }` (entra-sync answers) */
  entraTest: 'muster.entra.test',

  /** request/reply: start a run of a list's Entra sync `{ listId, trigger }` → `{ runId, status }` (entra-sync answers) */
  entraRun: 'muster.entra.run',

  /** notification: a list's mapping configuration changed; caches listening on it reload */
  mappingConfigChanged: 'muster.mapping.config.changed',

  /**
   * notification: events were appended to a stream of `category`
   * (e.g. `muster.events.roster.appended`); projectors listen to wake up.
   */
  eventAppended: (category: string) => `muster.events.${token('event category', category)}.appended`,

  /** subscription pattern matching `eventAppended` for every category */
  eventAppendedAny: 'muster.events.*.appended',

  /** request/reply: start a read-model rebuild or ask its status (projector answers; admin API and CLI ask) */
  projectorRebuild: 'muster.projector.rebuild',

  /** notification: a projection checkpoint moved forward (read-your-writes waiters listen) */
  projectionAdvanced: 'muster.projection.advanced',
} as const;

export type Subjects = typeof subjects;
