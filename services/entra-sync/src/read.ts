/**
 * The reading half of a run: delta rounds over Graph, merged by object id, nothing written. Groups
 * first (membership comes from the groups delta only), then users tenant-wide, keeping changes of
 * users in scope before or after this run. Graph may repeat an object in a round, split a large
 * group's members over several pages and send a round's changes again later: every fact is merged
 * by id, so repeats change nothing.
 */
import type { DeltaLinks, Tracked } from '@muster/domain';
import { type GraphClient } from '@muster/entra-graph';
import { ENTRA_BASE_SELECT } from '@muster/mapping-contract';

/** scoped group ids per groups-delta request ($filter takes at most 50) */
export const GROUP_CHUNK = 50;

type Obj = Record<string, unknown>;

export interface GroupsRead {
  /** direct user memberships added or removed, in the order Graph sent them */
  changes: Array<{ groupId: string; userId: string; added: boolean }>;
  /** scoped groups Graph reported deleted */
  deleted: Set<string>;
  names: Map<string, string>;
  /** members that are groups (nested): not in scope, membership is direct only */
  nestedGroups: number;
  links: DeltaLinks['groups'];
}

export interface UserChange {
  /** what Graph sent: the whole object (a full round, a point read) or only what changed (minimal) */
  data: Obj;
  complete: boolean;
}

export interface UsersRead {
  users: Map<string, UserChange>;
  /** `@removed` users: soft-deleted (changed) or deleted for good (deleted); a later plain object in the round restores */
  removed: Map<string, 'soft' | 'hard'>;
  /** users the round sent as plain objects (not removed) */
  present: Set<string>;
  /** distinct users out of scope seen (skipped) */
  outOfScope: Set<string>;
  link: string;
}

export const chunks = (ids: string[]) => {
  const sorted = [...ids].sort();
  const out: string[][] = [];
  for (let i = 0; i < sorted.length; i += GROUP_CHUNK) out.push(sorted.slice(i, i + GROUP_CHUNK));
  return out;
};

const odataQuote = (id: string) => `'${id.replace(/'/g, "''")}'`;

export function initialGroupsUrl(graph: GraphClient, groupIds: string[]): string {
  const filter = groupIds.map((id) => `id eq ${odataQuote(id)}`).join(' or ');
  return graph.url(`groups/delta?$filter=${encodeURIComponent(filter)}&$select=displayName,members`);
}

export function initialUsersUrl(graph: GraphClient, extensions: readonly string[]): string {
  return graph.url(`users/delta?$select=${[...ENTRA_BASE_SELECT, ...extensions].join(',')}`);
}

/** one groups round per chunk of scoped groups: from its stored link, or from the initial query */
export async function readGroups(graph: GraphClient, groupIds: string[], links: DeltaLinks['groups'] | null, opts: { onPage?: () => void; startUrl?: (chunk: string[]) => string | undefined } = {}): Promise<GroupsRead> {
  const out: GroupsRead = { changes: [], deleted: new Set(), names: new Map(), nestedGroups: 0, links: [] };
  for (const chunk of chunks(groupIds)) {
    const stored = links?.find((l) => l.groupIds.join(',') === chunk.join(','));
    const start = opts.startUrl?.(chunk) ?? stored?.link ?? initialGroupsUrl(graph, chunk);
    const link = await graph.deltaRound(start, (page) => {
      opts.onPage?.();
      for (const g of page.value) {
        const id = String(g.id);
        if (g['@removed']) { out.deleted.add(id); continue; }
        out.deleted.delete(id);
        if (typeof g.displayName === 'string') out.names.set(id, g.displayName);
        const members = g['members@delta'];
        if (!Array.isArray(members)) continue;
        for (const m of members as Obj[]) {
          if (String(m['@odata.type'] ?? '#microsoft.graph.user').toLowerCase() !== '#microsoft.graph.user') { out.nestedGroups++; continue; }
          // any @removed inside members@delta: no longer a member, whatever the reason
          out.changes.push({ groupId: id, userId: String(m.id), added: !m['@removed'] });
        }
      }
    }, stored && !opts.startUrl?.(chunk) ? { prefer: 'return=minimal' } : {});
    out.links.push({ groupIds: chunk, link });
  }
  return out;
}

/** membership after a groups round: a full round starts from nothing; deleted groups lose every member */
export function nextMembership(before: ReadonlyMap<string, Tracked>, read: GroupsRead, full: boolean, scoped: ReadonlySet<string>): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  if (!full) for (const [id, t] of before) if (t.groups.length) m.set(id, new Set(t.groups.filter((g) => scoped.has(g))));
  for (const c of read.changes) {
    if (!scoped.has(c.groupId)) continue;
    let set = m.get(c.userId);
    if (c.added) { if (!set) m.set(c.userId, (set = new Set())); set.add(c.groupId); } else set?.delete(c.groupId);
  }
  for (const [, set] of m) for (const g of read.deleted) set.delete(g);
  return m;
}

/** the users round (tenant-wide), keeping what concerns users in scope before or after */
export async function readUsers(graph: GraphClient, startUrl: string, incremental: boolean, concerns: (userId: string) => boolean, onPage?: () => void): Promise<UsersRead> {
  const out: UsersRead = { users: new Map(), removed: new Map(), present: new Set(), outOfScope: new Set(), link: '' };
  out.link = await graph.deltaRound(startUrl, (page) => {
    onPage?.();
    for (const u of page.value) {
      const id = String(u.id);
      if (!concerns(id)) { out.outOfScope.add(id); continue; }
      const removed = u['@removed'] as { reason?: string } | undefined;
      if (removed) {
        out.removed.set(id, removed.reason === 'deleted' ? 'hard' : 'soft');
        out.present.delete(id);
        continue;
      }
      out.removed.delete(id);
      out.present.add(id);
      const data: Obj = {};
      for (const [k, v] of Object.entries(u)) if (!k.startsWith('@') && !k.includes('@odata')) data[k] = v;
      const prev = out.users.get(id);
      // a patch: a missing key says nothing, an explicit null clears
      out.users.set(id, { data: { ...(prev?.data ?? {}), ...data }, complete: (prev?.complete ?? false) || !incremental });
    }
  }, incremental ? { prefer: 'return=minimal' } : {});
  return out;
}
