import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";
import { Hash } from "../ledger/record.js";
import { Instant, MAX_INTENT_SATS, Sats } from "./units.js";

/** Lightning providers: `mock` is for development only and always labelled so. */
export const PaymentProvider = z.enum(["mock", "lnd", "cln"]);
export type PaymentProvider = z.infer<typeof PaymentProvider>;

/** A BOLT 11 invoice: bech32, so letters and digits after its "ln" prefix, in one case or the other. */
export const Bolt11 = z.string().max(4_096).regex(/^(ln[a-z0-9]+|LN[A-Z0-9]+)$/, "a BOLT 11 invoice (ln…)");

/** A provider may report an invoice overpaid; beyond ten times the largest intent its word is not taken. */
export const MAX_PAID_SATS = 10 * MAX_INTENT_SATS;

export const intentCreated = eventSpec(
  "intent.created",
  1,
  z.object({
    accountId: AggregateId,
    amountSats: Sats,
    provider: PaymentProvider,
    paymentHash: Hash,
    bolt11: Bolt11,
    createdAt: Instant,
    expiresAt: Instant,
    /** Made by a development provider: worth nothing, labelled wherever it appears. */
    development: z.boolean(),
    /** The quoted rate (conversion.ts): sats one credit costs. */
    satsPerCredit: z.number().int().min(1).max(1_000_000),
  }),
);
/** The provider said the invoice is paid: what was paid, and the credits that makes, less the fee. */
export const intentSettled = eventSpec(
  "intent.settled",
  1,
  z.object({
    amountPaidSats: z.number().int().min(1).max(MAX_PAID_SATS),
    mintedMillicredits: z.number().int().min(0),
    feeMillicredits: z.number().int().min(0),
    /** When the provider says the invoice was paid. */
    paidAt: Instant,
    settledAt: Instant,
  }),
);
export const intentExpired = eventSpec("intent.expired", 1, z.object({ at: Instant }));

export const intentEventSpecs = [intentCreated, intentSettled, intentExpired] as const;
export const intentEvents = eventRegistry(...intentEventSpecs);
export type IntentEvent = DraftOf<(typeof intentEventSpecs)[number]>;
export type IntentCreated = z.infer<typeof intentCreated.data>;
export type IntentSettled = z.infer<typeof intentSettled.data>;
