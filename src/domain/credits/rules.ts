import { assertNever, type RuleBreak } from "../decider.js";
import { heldAmount, heldTotal, type CreditAccount } from "./account.js";
import type { CreditEvent } from "./events.js";

const insufficient = (needed: number, available: number): RuleBreak => ({
  code: "insufficient_credits",
  message: `needs ${needed} millicredits, ${available} available`,
});

/** Held credits come back to the balance on release or partial capture, so they count too. */
function overflow(state: CreditAccount, added: number): RuleBreak | undefined {
  return state.available + heldTotal(state) + added > Number.MAX_SAFE_INTEGER
    ? { code: "balance_overflow", message: "the balance would exceed the largest exact amount" }
    : undefined;
}

/**
 * The account's invariants as one rule set: the balance and every hold stay non-negative and
 * exact. Deciders refuse commands that would break them; projections and aggregate loading refuse
 * stored events that would (a validly signed event from a faulty writer is still never applied).
 */
export function creditRuleBreak(state: CreditAccount, event: CreditEvent): RuleBreak | undefined {
  switch (event.type) {
    case "credits.earned":
      return overflow(state, event.data.amount);
    case "credits.spent": {
      const { amount, holdId } = event.data;
      if (holdId === undefined) return amount > state.available ? insufficient(amount, state.available) : undefined;
      const reserved = heldAmount(state, holdId);
      if (reserved === undefined) return { code: "unknown_hold", message: `no open hold ${holdId}` };
      return amount > reserved
        ? { code: "exceeds_hold", message: `hold ${holdId} reserves ${reserved} millicredits, spend asks ${amount}` }
        : undefined;
    }
    case "credits.held":
      if (heldAmount(state, event.data.holdId) !== undefined) {
        return { code: "duplicate_hold", message: `hold ${event.data.holdId} is already open` };
      }
      return event.data.amount > state.available ? insufficient(event.data.amount, state.available) : undefined;
    case "credits.released": {
      const reserved = heldAmount(state, event.data.holdId);
      if (reserved === undefined) return { code: "unknown_hold", message: `no open hold ${event.data.holdId}` };
      return reserved !== event.data.amount
        ? { code: "release_mismatch", message: `hold ${event.data.holdId} reserves ${reserved}, release says ${event.data.amount}` }
        : undefined;
    }
    case "credits.adjusted":
      if (state.available + event.data.delta < 0) return insufficient(-event.data.delta, state.available);
      return overflow(state, event.data.delta);
    default:
      return assertNever(event);
  }
}
