import { z } from "zod";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { AggregateId, subjectOf } from "../events/envelope.js";
import { Hash } from "../ledger/record.js";
import { settlementOf } from "./conversion.js";
import { Bolt11, MAX_PAID_SATS, PaymentProvider, type IntentCreated, type IntentEvent, type IntentSettled } from "./intentEvents.js";
import { Sats } from "./units.js";

/** How long an invoice is payable: REFERENCE's 15 minutes. The app asks the provider for this expiry. */
export const INTENT_TTL_MS = 15 * 60_000;

/** A Lightning top-up: open until paid or expired; an expired one can still settle if the provider says it was paid in time. */
export type PaymentIntent =
  | { readonly status: "none" }
  | { readonly status: "open" | "expired"; readonly intent: IntentCreated }
  | { readonly status: "settled"; readonly intent: IntentCreated; readonly settlement: IntentSettled };

export const noIntent = (): PaymentIntent => ({ status: "none" });

export const IntentCommand = z.discriminatedUnion("kind", [
  /** The invoice as the provider made it, and the rate quoted for it (conversion.ts). */
  z.object({
    kind: z.literal("create"),
    accountId: AggregateId,
    amountSats: Sats,
    provider: PaymentProvider,
    paymentHash: Hash,
    bolt11: Bolt11,
    expiresAt: z.date(),
    development: z.boolean(),
    satsPerCredit: z.number().int().min(1).max(1_000_000),
    now: z.date(),
  }),
  /**
   * The provider's word that the invoice is paid: what it says was paid and when. Only an
   * adapter's answer to a lookup may become this command; nothing a caller supplies does.
   */
  z.object({ kind: z.literal("settle"), amountPaidSats: z.number().int().min(1).max(MAX_PAID_SATS), paidAt: z.date(), now: z.date() }),
  z.object({ kind: z.literal("expire"), now: z.date() }),
]);
export type IntentCommand = z.infer<typeof IntentCommand>;

/** Which events may follow which state, deciding and replaying alike: a stored settlement that mints more than its payment is never applied. */
export function intentRuleBreak(state: PaymentIntent, event: IntentEvent): RuleBreak | undefined {
  switch (event.type) {
    case "intent.created": {
      if (state.status !== "none") return { code: "already_created", message: "the payment intent exists already" };
      const { provider, development, createdAt, expiresAt } = event.data;
      if (provider === "mock" && !development) return { code: "mock_not_development", message: "an intent of the mock provider must be labelled development" };
      return Date.parse(expiresAt) > Date.parse(createdAt) ? undefined : { code: "already_expired", message: `the invoice expires at ${expiresAt}, not after ${createdAt}` };
    }
    case "intent.settled": {
      if (state.status === "none") return { code: "unknown_intent", message: "no such payment intent" };
      if (state.status === "settled") return { code: "already_settled", message: `the intent was settled at ${state.settlement.settledAt}` };
      const { amountPaidSats, paidAt, mintedMillicredits, feeMillicredits } = event.data;
      const { amountSats, expiresAt, satsPerCredit } = state.intent;
      if (amountPaidSats < amountSats) return { code: "underpaid", message: `${amountPaidSats} sats paid of an invoice for ${amountSats}` };
      if (Date.parse(paidAt) > Date.parse(expiresAt)) return { code: "paid_after_expiry", message: `paid at ${paidAt}, the invoice expired at ${expiresAt}` };
      const expected = settlementOf(amountPaidSats, satsPerCredit);
      return expected.mintedMillicredits === mintedMillicredits && expected.feeMillicredits === feeMillicredits
        ? undefined
        : { code: "settlement_mismatch", message: `${amountPaidSats} sats at ${satsPerCredit} sats per credit mint ${expected.mintedMillicredits} and a fee of ${expected.feeMillicredits} millicredits` };
    }
    case "intent.expired":
      if (state.status !== "open") return { code: "not_open", message: `the intent is ${state.status}` };
      return Date.parse(event.data.at) >= Date.parse(state.intent.expiresAt) ? undefined : { code: "not_expired", message: `the invoice is payable until ${state.intent.expiresAt}` };
    default:
      return assertNever(event);
  }
}

export function evolveIntent(state: PaymentIntent, event: IntentEvent): PaymentIntent {
  switch (event.type) {
    case "intent.created":
      return { status: "open", intent: event.data };
    case "intent.settled":
      return state.status === "none" ? state : { status: "settled", intent: state.intent, settlement: event.data };
    case "intent.expired":
      return state.status === "open" ? { status: "expired", intent: state.intent } : state;
    default:
      return assertNever(event);
  }
}

const rules = { ruleBreak: intentRuleBreak, evolve: evolveIntent };

function known(state: PaymentIntent): asserts state is Exclude<PaymentIntent, { status: "none" }> {
  if (state.status === "none") throw new DomainRuleViolation("unknown_intent", "no such payment intent", true);
}

export function createIntent({ kind: _k, now, expiresAt, ...invoice }: Extract<IntentCommand, { kind: "create" }>, state: PaymentIntent): IntentEvent[] {
  return requireRules(rules, state, [{ type: "intent.created", data: { ...invoice, createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() } }]);
}

/**
 * Mints at most once: a settled intent settles to nothing more (no events, not a refusal), since
 * a confirm call, the poller and a retried request all ask the provider the same question and
 * the first answer recorded stands; each caller then reads that settlement. Refusing would make
 * every one of them map a refusal to success. An expired intent settles when the provider says
 * it was paid before the expiry (the poller expired it before it saw the payment); one paid
 * after is refused, and nothing is minted.
 */
export function settleIntent(command: Extract<IntentCommand, { kind: "settle" }>, state: PaymentIntent): IntentEvent[] {
  known(state);
  if (state.status === "settled") return [];
  const { mintedMillicredits, feeMillicredits } = settlementOf(command.amountPaidSats, state.intent.satsPerCredit);
  return requireRules(rules, state, [
    {
      type: "intent.settled",
      data: { amountPaidSats: command.amountPaidSats, mintedMillicredits, feeMillicredits, paidAt: command.paidAt.toISOString(), settledAt: command.now.toISOString() },
    },
  ]);
}

/** Expiring again is nothing; expiring a settled intent or one still payable is refused. */
export function expireIntent(command: Extract<IntentCommand, { kind: "expire" }>, state: PaymentIntent): IntentEvent[] {
  known(state);
  if (state.status === "expired") return [];
  if (state.status === "settled") throw new DomainRuleViolation("already_settled", `the intent was settled at ${state.settlement.settledAt}`);
  return requireRules(rules, state, [{ type: "intent.expired", data: { at: command.now.toISOString() } }]);
}

export function decideIntent(command: IntentCommand, state: PaymentIntent): IntentEvent[] {
  switch (command.kind) {
    case "create":
      return createIntent(command, state);
    case "settle":
      return settleIntent(command, state);
    case "expire":
      return expireIntent(command, state);
    default:
      return assertNever(command);
  }
}

export const paymentIntentDecider: Decider<IntentCommand, PaymentIntent, IntentEvent> = {
  initialState: noIntent,
  decide: decideIntent,
  evolve: evolveIntent,
  ruleBreak: intentRuleBreak,
};

/** ec.economy.intent.<intentId> */
export const intentSubject = (intentId: string) => subjectOf("economy", "intent", intentId);
