/** Starting a changeset's apply: shared by the changeset route and an import's apply. */
import { streams, type CommandContext } from '@muster/contracts';
import { DomainError, blockers, changesetDecider, commandHandlerFor, toApply, type ListState } from '@muster/domain';
import type { AdminContext } from '../context.ts';
import { readRoster } from './roster.ts';

/**
 * Decide the apply on the roster as it is now (what moved since the review is reviewed again), and
 * start its background run. 409 when anything is undecided, or when the roster moved under a
 * chosen field (that field is a conflict again). Resolves with the run.
 */
export async function startApply(ctx: AdminContext, changesetId: string, list: ListState, cmd: CommandContext): Promise<{ run: Promise<void> }> {
  const handler = commandHandlerFor(ctx.store);
  const res = await handler.handle(streams.changeset(changesetId), changesetDecider, async (cur) => {
    const state = cur!.state;
    const readable = state.status === 'open' && !blockers(state).pending.length;
    const roster = readable ? await readRoster(ctx, list, toApply(state).map((c) => c.personId)) : { people: new Map(), position: -1, syncedFields: new Set<string>(), provider: null };
    return { type: 'ApplyChangeset' as const, roster };
  }, cmd);
  if (!res.events.some((e) => e.type === 'ChangesetApplyStarted')) {
    const b = blockers(res.snapshot.state);
    throw new DomainError('conflict', `nothing was applied: the roster changed since the review on ${b.conflicts.length} field${b.conflicts.length === 1 ? '' : 's'}; choose again for them`, { conflicts: b.conflicts.slice(0, 1000), conflictCount: b.conflicts.length });
  }
  return { run: ctx.changesets.run(changesetId) };
}
