import { z } from "zod";
import { assertNever, DomainRuleViolation, type Decider } from "../decider.js";
import { emptyAccount, evolveAccount, type CreditAccount } from "./account.js";
import { creditsAdjusted, creditsEarned, creditsHeld, creditsReleased, creditsSpent, HoldId, type CreditEvent } from "./events.js";

export const EarnCredits = z.object({ kind: z.literal("earn"), ...creditsEarned.data.shape });
export const SpendCredits = z.object({ kind: z.literal("spend"), ...creditsSpent.data.shape });
export const HoldCredits = z.object({ kind: z.literal("hold"), ...creditsHeld.data.shape });
export const ReleaseCredits = z.object({ kind: z.literal("release"), holdId: HoldId });
export const AdjustCredits = z.object({ kind: z.literal("adjust"), ...creditsAdjusted.data.shape });

export const CreditCommand = z.discriminatedUnion("kind", [EarnCredits, SpendCredits, HoldCredits, ReleaseCredits, AdjustCredits]);
export type CreditCommand = z.infer<typeof CreditCommand>;

const insufficient = (needed: number, available: number) =>
  new DomainRuleViolation("insufficient_credits", `needs ${needed} millicredits, ${available} available`);

function assertRoom(state: CreditAccount, amount: number): void {
  if (state.available + amount > Number.MAX_SAFE_INTEGER) {
    throw new DomainRuleViolation("balance_overflow", "the balance would exceed the largest exact amount");
  }
}

export function earnCredits(cmd: z.infer<typeof EarnCredits>, state: CreditAccount): CreditEvent[] {
  assertRoom(state, cmd.amount);
  const { kind: _kind, ...data } = cmd;
  return [{ type: "credits.earned", data }];
}

export function spendCredits(cmd: z.infer<typeof SpendCredits>, state: CreditAccount): CreditEvent[] {
  const { kind: _kind, ...data } = cmd;
  if (cmd.holdId === undefined) {
    if (cmd.amount > state.available) throw insufficient(cmd.amount, state.available);
    return [{ type: "credits.spent", data }];
  }
  const reserved = state.held[cmd.holdId];
  if (reserved === undefined) throw new DomainRuleViolation("unknown_hold", `no open hold ${cmd.holdId}`);
  if (cmd.amount > reserved) {
    throw new DomainRuleViolation("exceeds_hold", `hold ${cmd.holdId} reserves ${reserved} millicredits, spend asks ${cmd.amount}`);
  }
  return [{ type: "credits.spent", data }];
}

export function holdCredits(cmd: z.infer<typeof HoldCredits>, state: CreditAccount): CreditEvent[] {
  if (state.held[cmd.holdId] !== undefined) throw new DomainRuleViolation("duplicate_hold", `hold ${cmd.holdId} is already open`);
  if (cmd.amount > state.available) throw insufficient(cmd.amount, state.available);
  const { kind: _kind, ...data } = cmd;
  return [{ type: "credits.held", data }];
}

export function releaseCredits(cmd: z.infer<typeof ReleaseCredits>, state: CreditAccount): CreditEvent[] {
  const reserved = state.held[cmd.holdId];
  if (reserved === undefined) throw new DomainRuleViolation("unknown_hold", `no open hold ${cmd.holdId}`);
  return [{ type: "credits.released", data: { holdId: cmd.holdId, amount: reserved } }];
}

export function adjustCredits(cmd: z.infer<typeof AdjustCredits>, state: CreditAccount): CreditEvent[] {
  if (state.available + cmd.delta < 0) throw insufficient(-cmd.delta, state.available);
  assertRoom(state, cmd.delta);
  return [{ type: "credits.adjusted", data: { delta: cmd.delta, reason: cmd.reason } }];
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
    default:
      return assertNever(command);
  }
}

export const creditAccountDecider: Decider<CreditCommand, CreditAccount, CreditEvent> = {
  initialState: emptyAccount,
  decide: decideCredits,
  evolve: evolveAccount,
};

export const creditSubject = (accountId: string) => `ec.credits.${accountId}`;
