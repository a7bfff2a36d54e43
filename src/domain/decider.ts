import type { EventDraft } from "./events/envelope.js";

/**
 * A decider is three pure parts: decide(command, state) -> events, evolve(state, event) -> state,
 * and initialState(). Time, ids and randomness come in through the command, never from here.
 */
export interface Decider<Command, State, Event extends EventDraft> {
  readonly initialState: () => State;
  readonly decide: (command: Command, state: State) => readonly Event[];
  readonly evolve: (state: State, event: Event) => State;
  /** Why a stored event may not be applied to this state; such events are skipped, never folded. */
  readonly ruleBreak?: (state: State, event: Event) => RuleBreak | undefined;
}

/** Why an event may not follow a state: a code for machines, a message for people. */
export interface RuleBreak {
  readonly code: string;
  readonly message: string;
}

/** A command refused by a business rule: a reply to the caller, not a fault of the system. */
export class DomainRuleViolation extends Error {
  override readonly name = "DomainRuleViolation";
  constructor(
    readonly code: string,
    message: string,
    /** The command names something that does not exist (an HTTP 404 rather than a 409). */
    readonly notFound = false,
  ) {
    super(message);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}

export type FoldResult<State> = { ok: true; state: State } | { ok: false; index: number; code: string; message: string };

/**
 * Applies one commit's events in order, checking each against the state it meets; a commit that
 * breaks a rule anywhere is refused whole, since its events were one decision.
 */
export function foldCommit<C, State, Event extends EventDraft>(
  decider: Decider<C, State, Event>,
  state: State,
  events: readonly Event[],
): FoldResult<State> {
  let next = state;
  for (const [index, event] of events.entries()) {
    const broken = decider.ruleBreak?.(next, event);
    if (broken) return { ok: false, index, ...broken };
    next = decider.evolve(next, event);
  }
  return { ok: true, state: next };
}

/**
 * The events a decider proposes, checked against its own rules in order: what deciding and
 * replaying share. A break is a refused command.
 */
export function requireRules<State, Event>(
  rules: { ruleBreak: (state: State, event: Event) => RuleBreak | undefined; evolve: (state: State, event: Event) => State },
  state: State,
  events: Event[],
): Event[] {
  let s = state;
  for (const e of events) {
    const broken = rules.ruleBreak(s, e);
    if (broken) throw new DomainRuleViolation(broken.code, broken.message);
    s = rules.evolve(s, e);
  }
  return events;
}
