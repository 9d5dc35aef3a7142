import type { DomainEvent } from '@muster/contracts';

/** The Emmett-style decider: pure decide + evolve + initial state. */
export interface Decider<Command, State> {
  decide(command: Command, state: State): DomainEvent[];
  evolve(state: State, event: DomainEvent): State;
  initialState(): State;
}

export function fold<State>(d: Pick<Decider<unknown, State>, 'evolve' | 'initialState'>, events: DomainEvent[]): State {
  return events.reduce((s, e) => d.evolve(s, e), d.initialState());
}
