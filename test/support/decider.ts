import { expect } from "vitest";
import { DomainRuleViolation, foldCommit, type Decider } from "../../src/domain/decider.js";
import type { EventDraft } from "../../src/domain/events/envelope.js";

/**
 * Decider specifications that read as given/when/then. The given history is folded with the
 * decider's own rules, so a spec cannot start from a history the system would never store.
 */
export function given<C, S, E extends EventDraft>(decider: Decider<C, S, E>, history: readonly E[] = []) {
  const folded = foldCommit(decider, decider.initialState(), history);
  if (!folded.ok) throw new Error(`the given history breaks a rule at event ${folded.index}: ${folded.code} (${folded.message})`);
  const state = folded.state;

  return {
    when(command: C) {
      const decide = () => decider.decide(command, state);
      return {
        /** The events decided; they must also fold cleanly onto the state they were decided on. */
        then(expected: readonly E[]) {
          const events = decide();
          expect(events).toEqual(expected);
          const applied = foldCommit(decider, state, events);
          expect(applied.ok, "decided events must pass the decider's own rules").toBe(true);
        },
        /** The state after the decided events are evolved onto the given state. */
        thenState(expected: S) {
          expect(decide().reduce(decider.evolve, state)).toEqual(expected);
        },
        thenThrows(code: string) {
          let thrown: unknown;
          try {
            decide();
          } catch (err) {
            thrown = err;
          }
          expect(thrown, "the command should have been refused").toBeInstanceOf(DomainRuleViolation);
          expect((thrown as DomainRuleViolation).code).toBe(code);
        },
      };
    },
  };
}
