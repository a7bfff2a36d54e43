import { z } from "zod";
import { AggregateId, subjectOf } from "../events/envelope.js";
import { assertNever, DomainRuleViolation, requireRules, type Decider } from "../decider.js";
import { emptyAccount, evolveAccount, heldAmount, type CreditAccount } from "./account.js";
import { creditsAdjusted, creditsEarned, creditsHeld, creditsSpent, HoldId, Millicredits, MovementCause, type CreditEvent } from "./events.js";
import { creditRuleBreak } from "./rules.js";

export const EarnCredits = z.object({ kind: z.literal("earn"), ...creditsEarned.data.shape });
export const SpendCredits = z.object({ kind: z.literal("spend"), ...creditsSpent.data.shape });
export const HoldCredits = z.object({ kind: z.literal("hold"), ...creditsHeld.data.shape });
export const ReleaseCredits = z.object({ kind: z.literal("release"), holdId: HoldId, cause: MovementCause.optional() });
export const AdjustCredits = z.object({ kind: z.literal("adjust"), ...creditsAdjusted.data.shape });
/** Spend what something cost from its hold, never more than the hold keeps: the rest returns to the balance. */
export const SettleHold = z.object({
  kind: z.literal("settle"),
  holdId: HoldId,
  cost: Millicredits,
  reason: creditsSpent.data.shape.reason,
  ref: creditsSpent.data.shape.ref,
  cause: MovementCause.optional(),
});

export const CreditCommand = z.discriminatedUnion("kind", [EarnCredits, SpendCredits, HoldCredits, ReleaseCredits, AdjustCredits, SettleHold]);
export type CreditCommand = z.infer<typeof CreditCommand>;

const admitted = (state: CreditAccount, event: CreditEvent) => requireRules({ ruleBreak: creditRuleBreak, evolve: evolveAccount }, state, [event]);

export function earnCredits({ kind: _k, ...data }: z.infer<typeof EarnCredits>, state: CreditAccount): CreditEvent[] {
  return admitted(state, { type: "credits.earned", data });
}

export function spendCredits({ kind: _k, ...data }: z.infer<typeof SpendCredits>, state: CreditAccount): CreditEvent[] {
  return admitted(state, { type: "credits.spent", data });
}

export function holdCredits({ kind: _k, ...data }: z.infer<typeof HoldCredits>, state: CreditAccount): CreditEvent[] {
  return admitted(state, { type: "credits.held", data });
}

/** Releases the whole hold: the event carries the amount that returns to the balance. */
export function releaseCredits({ holdId, cause }: z.infer<typeof ReleaseCredits>, state: CreditAccount): CreditEvent[] {
  const reserved = heldAmount(state, holdId);
  if (reserved === undefined) throw new DomainRuleViolation("unknown_hold", `no open hold ${holdId}`);
  return admitted(state, { type: "credits.released", data: { holdId, amount: reserved, ...(cause ? { cause } : {}) } });
}

export function settleHold({ holdId, cost, reason, ref, cause }: z.infer<typeof SettleHold>, state: CreditAccount): CreditEvent[] {
  const reserved = heldAmount(state, holdId);
  if (reserved === undefined) throw new DomainRuleViolation("unknown_hold", `no open hold ${holdId}`);
  const amount = Math.min(cost, reserved);
  return admitted(state, { type: "credits.spent", data: { amount, reason, holdId, ...(ref !== undefined ? { ref } : {}), ...(cause ? { cause } : {}) } });
}

export function adjustCredits({ kind: _k, ...data }: z.infer<typeof AdjustCredits>, state: CreditAccount): CreditEvent[] {
  return admitted(state, { type: "credits.adjusted", data });
}

export function decideCredits(command: CreditCommand, state: CreditAccount): CreditEvent[] {
  switch (command.kind) {
    case "earn":
      return earnCredits(command, state);
    case "spend":
      return spendCredits(command, state);
    case "hold":
      return holdCredits(command, state);
    case "release":
      return releaseCredits(command, state);
    case "adjust":
      return adjustCredits(command, state);
    case "settle":
      return settleHold(command, state);
    default:
      return assertNever(command);
  }
}

export const creditAccountDecider: Decider<CreditCommand, CreditAccount, CreditEvent> = {
  initialState: emptyAccount,
  decide: decideCredits,
  evolve: evolveAccount,
  ruleBreak: creditRuleBreak,
};

export const creditSubject = (accountId: string) => subjectOf("credits", "account", accountId);
export const AccountId = AggregateId;
