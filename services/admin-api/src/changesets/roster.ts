/** The roster as it is now for the people a review, an apply or a rollback looks at (from the people read model). */
import type { ListState, MasterPerson, Roster } from '@muster/domain';
import { syncedFieldKeys } from '@muster/domain';
import { readModel } from '@muster/read-models';
import { helpers, type AdminContext } from '../context.ts';

/**
 * Wait until the read models have applied the log's head, then read these people. `position` is
 * that head: every event up to it is in what was read (later ones may be too; each person's
 * `revision` says exactly which of their events were).
 */
export async function readRoster(ctx: AdminContext, list: ListState, personIds: Iterable<string>): Promise<Roster> {
  const position = await helpers(ctx).projectedToHead();
  const ids = [...personIds];
  const people = new Map<string, MasterPerson>();
  const BATCH = 1000;
  for (let i = 0; i < ids.length; i += BATCH) {
    const docs = await readModel(ctx.readStore, 'people').find({ _id: { $in: ids.slice(i, i + BATCH) }, listId: list.listId }, { projection: { fields: 1, status: 1, linked: 1, revision: 1 } });
    for (const d of docs) people.set(d._id, { revision: d.revision, status: d.status, linked: d.linked, fields: d.fields });
  }
  return { people, position, syncedFields: syncedFieldKeys(list), provider: list.sync?.provider ?? null };
}
