import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainRuleViolation, foldCommit } from "../../src/domain/decider.js";
import { settlementOf } from "../../src/domain/economy/conversion.js";
import { intentSubject, paymentIntentDecider, type IntentCommand } from "../../src/domain/economy/intent.js";
import type { IntentEvent } from "../../src/domain/economy/intentEvents.js";
import { given } from "../support/decider.js";

const minute = (m: number) => new Date(Date.UTC(2026, 11, 4, 17, m));
const invoice = {
  accountId: "alice",
  amountSats: 3_000,
  provider: "lnd" as const,
  paymentHash: "ab".repeat(32),
  bolt11: "lnbc30u1pexample0invoice",
  development: false,
  satsPerCredit: 30,
};
const create = (over: Partial<Extract<IntentCommand, { kind: "create" }>> = {}): IntentCommand => ({ kind: "create", ...invoice, expiresAt: minute(15), now: minute(0), ...over });
const created: IntentEvent = { type: "intent.created", data: { ...invoice, createdAt: minute(0).toISOString(), expiresAt: minute(15).toISOString() } };
const settle = (amountPaidSats: number, paidAt: Date, now = minute(5)): IntentCommand => ({ kind: "settle", amountPaidSats, paidAt, now });
const settledData = (amountPaidSats: number, paidAt: Date, now = minute(5)) => ({ amountPaidSats, ...settlementOf(amountPaidSats, 30), paidAt: paidAt.toISOString(), settledAt: now.toISOString() });
const settled = (amountPaidSats: number, paidAt: Date, now = minute(5)): IntentEvent => ({ type: "intent.settled", data: settledData(amountPaidSats, paidAt, now) });
const expired: IntentEvent = { type: "intent.expired", data: { at: minute(16).toISOString() } };
const intent = (events: readonly IntentEvent[] = []) => given(paymentIntentDecider, events);

describe("a Lightning payment intent", () => {
  it("lives at ec.economy.intent.<intentId>", () => {
    expect(intentSubject("pi-1")).toBe("ec.economy.intent.pi-1");
  });

  it("records the provider's invoice, its expiry and the rate quoted for it", () => {
    intent().when(create()).then([created]);
    intent([created]).when(create()).thenThrows("already_created");
  });

  it("labels a mock invoice as development, always", () => {
    intent().when(create({ provider: "mock", development: false })).thenThrows("mock_not_development");
    intent()
      .when(create({ provider: "mock", development: true }))
      .then([{ type: "intent.created", data: { ...created.data, provider: "mock", development: true } }]);
  });

  it("refuses an invoice that expires no later than it is made", () => {
    intent().when(create({ expiresAt: minute(0) })).thenThrows("already_expired");
  });

  it("mints what was paid at the quoted rate less the 1.5% fee: 3,000 sats at 30 sats a credit are 100 credits", () => {
    intent([created]).when(settle(3_000, minute(4))).then([settled(3_000, minute(4))]);
    expect(settlementOf(3_000, 30)).toEqual({ mintedMillicredits: 98_500, feeMillicredits: 1_500 });
  });

  it("mints once: settling a settled intent decides nothing, whatever the second answer says", () => {
    intent([created, settled(3_000, minute(4))]).when(settle(3_000, minute(4), minute(6))).then([]);
    intent([created, settled(3_000, minute(4))]).when(settle(9_000, minute(5), minute(7))).then([]);
  });

  it("mints on an overpayment what was paid, and refuses an underpayment", () => {
    intent([created]).when(settle(3_100, minute(4))).then([settled(3_100, minute(4))]);
    intent([created]).when(settle(2_999, minute(4))).thenThrows("underpaid");
  });

  it("refuses a payment the provider dates after the expiry, and mints nothing", () => {
    intent([created]).when(settle(3_000, minute(16), minute(17))).thenThrows("paid_after_expiry");
    intent([created, expired]).when(settle(3_000, minute(16), minute(17))).thenThrows("paid_after_expiry");
  });

  it("settles an intent already expired when the provider says it was paid in time", () => {
    intent([created, expired]).when(settle(3_000, minute(14), minute(17))).then([settled(3_000, minute(14), minute(17))]);
  });

  it("refuses to settle or expire an intent that does not exist", () => {
    intent().when(settle(3_000, minute(4))).thenThrows("unknown_intent");
    intent().when({ kind: "expire", now: minute(16) }).thenThrows("unknown_intent");
  });

  it("expires once the invoice is no longer payable, and only then", () => {
    intent([created]).when({ kind: "expire", now: minute(14) }).thenThrows("not_expired");
    intent([created]).when({ kind: "expire", now: minute(16) }).then([expired]);
    intent([created, expired]).when({ kind: "expire", now: minute(20) }).then([]);
    intent([created, settled(3_000, minute(4))]).when({ kind: "expire", now: minute(20) }).thenThrows("already_settled");
  });

  it("never applies a stored settlement that mints more than its payment, or a second one", () => {
    const init = paymentIntentDecider.initialState();
    const inflated: IntentEvent = { type: "intent.settled", data: { ...settledData(3_000, minute(4)), mintedMillicredits: 1_000_000 } };
    expect(foldCommit(paymentIntentDecider, init, [created, inflated])).toMatchObject({ ok: false, index: 1, code: "settlement_mismatch" });
    expect(foldCommit(paymentIntentDecider, init, [created, settled(3_000, minute(4)), settled(3_000, minute(4))])).toMatchObject({ ok: false, index: 2, code: "already_settled" });
  });

  it("mints at most once however settlements and expiries arrive (property)", () => {
    const command: fc.Arbitrary<IntentCommand> = fc.oneof(
      fc.record({ kind: fc.constant("settle" as const), amountPaidSats: fc.integer({ min: 1, max: 10_000 }), paidAt: fc.integer({ min: 0, max: 30 }).map(minute), now: fc.integer({ min: 0, max: 40 }).map(minute) }),
      fc.record({ kind: fc.constant("expire" as const), now: fc.integer({ min: 0, max: 40 }).map(minute) }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 20 }), (commands) => {
        let state = [created].reduce(paymentIntentDecider.evolve, paymentIntentDecider.initialState());
        const all: IntentEvent[] = [];
        for (const cmd of commands) {
          try {
            const events = paymentIntentDecider.decide(cmd, state);
            expect(foldCommit(paymentIntentDecider, state, events).ok).toBe(true);
            all.push(...events);
            state = events.reduce(paymentIntentDecider.evolve, state);
          } catch (err) {
            expect(err).toBeInstanceOf(DomainRuleViolation);
          }
        }
        const settlements = all.filter((e) => e.type === "intent.settled");
        expect(settlements.length).toBeLessThanOrEqual(1);
        for (const s of settlements) {
          expect(Date.parse(s.data.paidAt)).toBeLessThanOrEqual(minute(15).getTime());
          expect(s.data.amountPaidSats).toBeGreaterThanOrEqual(invoice.amountSats);
        }
      }),
    );
  });

  it("splits what a payment converts to exactly into the minted amount and a fee of at most 1.5% (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (sats, rate) => {
        const { mintedMillicredits, feeMillicredits } = settlementOf(sats, rate);
        const gross = Math.floor((sats * 1000) / rate);
        expect(mintedMillicredits + feeMillicredits).toBe(gross);
        expect(feeMillicredits * 10_000).toBeLessThanOrEqual(gross * 150);
        expect((feeMillicredits + 1) * 10_000).toBeGreaterThan(gross * 150);
      }),
    );
  });
});
