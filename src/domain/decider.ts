import type { EventDraft } from "./events/envelope.js";

/**
 * A decider is three pure parts: decide(command, state) -> events, evolve(state, event) -> state,
 * and initialState(). Time, ids and randomness come in through the command, never from here.
 */
export interface Decider<Command, State, Event extends EventDraft> {
  readonly initialState: () => State;
  readonly decide: (command: Command, state: State) => readonly Event[];
  readonly evolve: (state: State, event: Event) => State;
}

/** A command refused by a business rule: a reply to the caller, not a fault of the system. */
export class DomainRuleViolation extends Error {
  override readonly name = "DomainRuleViolation";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
