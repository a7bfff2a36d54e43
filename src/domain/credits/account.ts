import { assertNever } from "../decider.js";
import type { CreditEvent } from "./events.js";

/** A credit account: what can be spent, and the open holds that reserve part of it. */
export interface CreditAccount {
  readonly available: number;
  readonly held: Readonly<Record<string, number>>;
}

export const emptyAccount = (): CreditAccount => ({ available: 0, held: {} });

export function heldTotal(account: CreditAccount): number {
  let total = 0;
  for (const amount of Object.values(account.held)) total += amount;
  return total;
}

/**
 * The amount an open hold reserves, or undefined. Own keys only: hold ids come from callers, and
 * ids such as "toString" or "__proto__" must not find Object.prototype's members.
 */
export function heldAmount(account: CreditAccount, holdId: string): number | undefined {
  return Object.hasOwn(account.held, holdId) ? account.held[holdId] : undefined;
}

function withoutHold(held: Readonly<Record<string, number>>, holdId: string): Record<string, number> {
  const { [holdId]: _removed, ...rest } = held;
  return rest;
}

export function evolveAccount(state: CreditAccount, event: CreditEvent): CreditAccount {
  switch (event.type) {
    case "credits.earned":
      return { ...state, available: state.available + event.data.amount };
    case "credits.spent": {
      const { holdId, amount } = event.data;
      if (holdId === undefined) return { ...state, available: state.available - amount };
      const reserved = heldAmount(state, holdId) ?? 0;
      return { available: state.available + reserved - amount, held: withoutHold(state.held, holdId) };
    }
    case "credits.held":
      return {
        available: state.available - event.data.amount,
        held: { ...state.held, [event.data.holdId]: event.data.amount },
      };
    case "credits.released":
      return {
        available: state.available + (heldAmount(state, event.data.holdId) ?? 0),
        held: withoutHold(state.held, event.data.holdId),
      };
    case "credits.adjusted":
      return { ...state, available: state.available + event.data.delta };
    default:
      return assertNever(event);
  }
}
