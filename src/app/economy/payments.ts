import { randomUUID } from "node:crypto";
import { eventIdFor } from "../../adapters/crypto/eventSigning.js";
import { LightningProviderError, type InvoiceState } from "../../adapters/lightning/provider.js";
import { creditSubject } from "../../domain/credits/commands.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { intentSubject, paymentIntentDecider, type PaymentIntent } from "../../domain/economy/intent.js";
import type { IntentCreated, IntentEvent } from "../../domain/economy/intentEvents.js";
import { appliedCreditEvents } from "../../projections/economy/facts.js";
import { intentById, openIntentsCreatedBy, settledIntentsCreatedBy, type IntentView } from "../../projections/economy/queries.js";
import { refusal, type Refusal } from "../commands.js";
import { movementLookup } from "../credits/movements.js";
import { coordinatorAccountOf } from "../credits/nodeAccounts.js";
import type { EconomyDeps } from "./deps.js";
import type { Prices } from "./prices.js";

/** Why an intent was not made or not confirmed: the gateway answers each with a status of its own. */
export type PaymentRefusal = Refusal<"unknown_intent" | "lightning_unavailable" | "unknown_invoice" | "other_provider">;

/** The reasons a credit movement of a top-up carries. */
export const TOPUP_REASON = "lightning_topup";
export const TOPUP_FEE_REASON = "lightning_fee";

/**
 * Command ids of an intent's settlement and of its two movements: deterministic, so the events
 * they make have ids every node computes alike (eventIdFor). A mint's `ref` and `cause` name the
 * settlement event by that id; a repeated mint has the same event id and is taken once.
 */
export const settleCommandId = (intentId: string) => `settle:${intentId}`;
export const mintCommandId = (intentId: string) => `mint:${intentId}`;
export const feeCommandId = (intentId: string) => `fee:${intentId}`;

export interface ConfirmedIntent {
  readonly intent: IntentView;
  /** What the provider said of the invoice this time (settled when the intent was already). */
  readonly provider: InvoiceState;
}

/** The intent's view from its aggregate's state, when the projection may not hold it yet. */
function viewOf(intentId: string, state: Exclude<PaymentIntent, { status: "none" }>, createdBy: string | null, version: number): IntentView {
  const { intent } = state;
  return {
    intentId,
    status: state.status,
    accountId: intent.accountId,
    amountSats: intent.amountSats,
    provider: intent.provider,
    development: intent.development,
    paymentHash: intent.paymentHash,
    bolt11: intent.bolt11,
    satsPerCredit: intent.satsPerCredit,
    createdAt: new Date(intent.createdAt),
    expiresAt: new Date(intent.expiresAt),
    settlement:
      state.status === "settled"
        ? {
            amountPaidSats: state.settlement.amountPaidSats,
            mintedMillicredits: state.settlement.mintedMillicredits,
            feeMillicredits: state.settlement.feeMillicredits,
            paidAt: new Date(state.settlement.paidAt),
            settledAt: new Date(state.settlement.settledAt),
          }
        : null,
    createdBy,
    version,
  };
}

/** The intent.created data of a projected intent: what asking its provider needs. */
const createdOf = (v: IntentView): IntentCreated => ({
  accountId: v.accountId,
  amountSats: v.amountSats,
  provider: v.provider,
  paymentHash: v.paymentHash,
  bolt11: v.bolt11,
  createdAt: v.createdAt.toISOString(),
  expiresAt: v.expiresAt.toISOString(),
  development: v.development,
  satsPerCredit: v.satsPerCredit,
});

const drafts = (events: readonly { type: string; data: Record<string, unknown> }[]) => events.map((e) => ({ type: e.type, data: e.data }) as IntentEvent);

/**
 * Lightning top-ups: an intent is an invoice of the node's provider; only the provider's word
 * that it is paid settles it, and a settlement mints the credits (less the coordinator's fee)
 * once, whoever asks and however often.
 */
export function payments(deps: EconomyDeps, prices: Pick<Prices, "satsPerCredit">) {
  const handle = deps.handlers.intent;

  /**
   * Mints what a settled intent makes: the payer's credits and the fee to this coordinator's
   * account (the node whose provider took the money), each an earning that points at the
   * settlement, with a command id of its own, so a repeat within the stream's duplicate window
   * is taken once. `fresh`: the settlement was just recorded, so nothing was minted for it yet.
   * Otherwise a movement is looked for first: in the balances projection, then (not shown
   * there: it lags, or the mint never happened) in the account's stream, so one made however
   * long ago is never made again.
   */
  async function mint(settled: readonly { intentId: string; payer: string; mintedMillicredits: number; feeMillicredits: number }[], fresh = false): Promise<void> {
    if (settled.length === 0) return;
    const now = deps.now();
    const movements = settled.flatMap(({ intentId, payer, mintedMillicredits, feeMillicredits }) => {
      const cause = { subject: intentSubject(intentId), eventId: eventIdFor(settleCommandId(intentId), 0) };
      return [
        { commandId: mintCommandId(intentId), accountId: payer, amount: mintedMillicredits, reason: TOPUP_REASON, cause },
        { commandId: feeCommandId(intentId), accountId: coordinatorAccountOf(deps.nodeKey), amount: feeMillicredits, reason: TOPUP_FEE_REASON, cause },
      ].filter((m) => m.amount > 0);
    });
    const applied = fresh ? new Set<string>() : await appliedCreditEvents(deps.pool, movements.map((m) => eventIdFor(m.commandId, 0)));
    const onStream = movementLookup(deps.store);
    for (const { commandId, accountId, amount, reason, cause } of movements) {
      if (!fresh && (applied.has(eventIdFor(commandId, 0)) || (await onStream.moved(accountId, commandId)))) continue;
      await deps.handlers.account(creditSubject(accountId), { kind: "earn", amount, reason, ref: cause.eventId, cause }, { now, commandId });
    }
  }

  /**
   * Asks the provider about an open or expired intent and records its answer: settled (paid
   * before the invoice expired, which the decider checks) or expired. When this node's provider
   * made the invoice (`ours`) and knows it no more (the mock forgets its invoices when the node
   * restarts), it cannot be paid: past its expiry that is an expiry too. Another coordinator's
   * invoice unknown here is only unknown: its own provider may hold the payment. Returns what
   * the provider said and the events that recorded it (none when there was nothing to record,
   * or another caller recorded it first).
   */
  async function askProvider(
    intentId: string,
    intent: IntentCreated,
    status: "open" | "expired",
    ours: boolean,
  ): Promise<{ said: InvoiceState; events: IntentEvent[] } | PaymentRefusal> {
    if (intent.provider !== deps.lightning.kind) {
      return refusal("other_provider", `intent ${intentId} is an invoice of the ${intent.provider} provider; this node asks ${deps.lightning.label}`);
    }
    const subject = intentSubject(intentId);
    const expired = () => deps.now().getTime() >= Date.parse(intent.expiresAt);
    const expire = async (): Promise<IntentEvent[]> => {
      const now = deps.now();
      return status === "open" && expired() ? drafts((await handle(subject, { kind: "expire", now }, { now })).events) : [];
    };
    let answer;
    try {
      answer = await deps.lightning.lookupInvoice(intent.paymentHash);
    } catch (err) {
      if (!(err instanceof LightningProviderError)) throw err;
      if (err.reason !== "not_found") return refusal("lightning_unavailable", err.message);
      if (!ours || !expired()) return refusal("unknown_invoice", `${deps.lightning.label} knows no invoice ${intent.paymentHash}: ${err.detail}`);
      return { said: "expired", events: await expire() };
    }
    switch (answer.state) {
      case "settled": {
        const now = deps.now();
        const paidAt = answer.settledAt ? new Date(answer.settledAt) : now;
        try {
          const done = await handle(subject, { kind: "settle", amountPaidSats: answer.amountPaidSats, paidAt, now }, { now, commandId: settleCommandId(intentId) });
          return { said: "settled", events: drafts(done.events) };
        } catch (err) {
          // A payment the rules refuse (after the expiry, short of the amount) can never settle once
          // the invoice has expired: the intent expires, so nobody asks again, and the refusal stands.
          if (err instanceof DomainRuleViolation) await expire();
          throw err;
        }
      }
      case "expired":
      case "canceled":
        return { said: answer.state, events: await expire() };
      case "open":
        return { said: "open", events: [] };
      default: {
        const unknown: never = answer.state;
        return unknown;
      }
    }
  }

  const settledBy = (events: readonly IntentEvent[]) => events.find((e): e is Extract<IntentEvent, { type: "intent.settled" }> => e.type === "intent.settled");

  async function confirm(intentId: string): Promise<ConfirmedIntent | PaymentRefusal> {
    const subject = intentSubject(intentId);
    let [state, projected] = await Promise.all([handle.read(subject), intentById(deps.pool, intentId)]);
    if (state.status === "none") return refusal("unknown_intent", `no payment intent ${intentId}`);
    let said: InvoiceState = "settled";
    let fresh = false;
    if (state.status !== "settled") {
      const answer = await askProvider(intentId, state.intent, state.status, projected?.createdBy === deps.nodeKey);
      if ("refused" in answer) return answer;
      said = answer.said;
      fresh = settledBy(answer.events) !== undefined;
      if (answer.events.length > 0) state = answer.events.reduce(paymentIntentDecider.evolve, state);
      // Nothing recorded although the provider's word changes the intent: another caller recorded it first.
      else if (said !== "open") state = await handle.read(subject);
    }
    if (state.status === "none") return refusal("unknown_intent", `no payment intent ${intentId}`);
    if (state.status === "settled") await mint([{ intentId, payer: state.intent.accountId, ...state.settlement }], fresh);
    return { intent: viewOf(intentId, state, projected?.createdBy ?? null, projected?.version ?? 0), provider: said };
  }

  return {
    /**
     * An invoice from the provider for `amountSats`, at the rate a credit costs now (quoted once,
     * so the payer knows what it buys), then the intent.created event. A mock provider's intent
     * is labelled development: it takes no money.
     */
    async create(request: { accountId: string; amountSats: number }): Promise<IntentView | PaymentRefusal> {
      const satsPerCredit = await prices.satsPerCredit();
      let invoice;
      try {
        invoice = await deps.lightning.createInvoice({
          amountSats: request.amountSats,
          memo: `EdgeCoder credits for ${request.accountId}`,
          expirySeconds: Math.max(1, Math.ceil(deps.intentTtlMs / 1000)),
        });
      } catch (err) {
        if (err instanceof LightningProviderError) return refusal("lightning_unavailable", err.message);
        throw err;
      }
      const intentId = randomUUID();
      const now = deps.now();
      const done = await handle(
        intentSubject(intentId),
        {
          kind: "create",
          accountId: request.accountId,
          amountSats: request.amountSats,
          provider: deps.lightning.kind,
          paymentHash: invoice.paymentHash,
          bolt11: invoice.bolt11,
          expiresAt: new Date(invoice.expiresAt),
          development: deps.lightning.development,
          satsPerCredit,
          now,
        },
        { now },
      );
      const state = drafts(done.events).reduce(paymentIntentDecider.evolve, paymentIntentDecider.initialState());
      if (state.status === "none") throw new Error(`intent ${intentId} was not created`);
      return viewOf(intentId, state, deps.nodeKey, done.version);
    },

    async get(intentId: string): Promise<IntentView | PaymentRefusal> {
      return (await intentById(deps.pool, intentId)) ?? refusal("unknown_intent", `no payment intent ${intentId}`);
    },

    /** Asks the provider, records what it says, and mints a settled intent's credits once. Nothing the caller sends is asked for: only the provider's word counts. */
    confirm,

    /**
     * One round of the background poller: every open intent whose invoice this node's provider
     * made is asked about (settled ones mint, expired ones expire), and intents settled in the
     * last hour get any movement a crash kept from being sent. Returns what it did, by intent.
     */
    async poll(limit = 100): Promise<{ settled: string[]; expired: string[] }> {
      const done = { settled: [] as string[], expired: [] as string[] };
      for (const view of await openIntentsCreatedBy(deps.pool, deps.nodeKey, limit)) {
        try {
          const answer = await askProvider(view.intentId, createdOf(view), "open", true);
          if ("refused" in answer) continue;
          const settled = settledBy(answer.events);
          if (settled) {
            await mint([{ intentId: view.intentId, payer: view.accountId, ...settled.data }], true);
            done.settled.push(view.intentId);
          }
          if (answer.events.some((e) => e.type === "intent.expired")) done.expired.push(view.intentId);
        } catch (err) {
          // Refused on the stream's state (paid after the expiry, not expired yet, moved on meanwhile): nothing to record now.
          if (!(err instanceof DomainRuleViolation)) throw err;
        }
      }
      const recent = await settledIntentsCreatedBy(deps.pool, deps.nodeKey, new Date(deps.now().getTime() - 3_600_000), limit);
      await mint(recent.map((i) => ({ intentId: i.intentId, payer: i.accountId, mintedMillicredits: i.settlement!.mintedMillicredits, feeMillicredits: i.settlement!.feeMillicredits })));
      return done;
    },
  };
}

export type Payments = ReturnType<typeof payments>;
