import { z } from "zod";

/**
 * The port the economy asks for Lightning invoices: create one for an amount, later ask what
 * became of it. Only this answer mints credits (docs: issue 12, "Payments"), so every adapter
 * treats its node's reply as hostile input: bounded in size, timed out, validated with zod, and
 * checked to be about the invoice that was asked for.
 */

/** A payment intent is at most 1e8 sats (REFERENCE.md, "Economy numbers"). */
export const MAX_INVOICE_SATS = 100_000_000;
/** BOLT 11 caps a description at 639 bytes (a 1023-word tagged field of 5-bit words). */
export const MAX_MEMO_BYTES = 639;
/** A week, Core Lightning's default expiry; intents ask for 15 minutes. */
export const MAX_EXPIRY_SECONDS = 604_800;

export const ProviderKind = z.enum(["mock", "lnd", "cln"]);
export type ProviderKind = z.infer<typeof ProviderKind>;

/** SHA-256 of the preimage, as lowercase hex: the invoice's identity on every provider. */
export const PaymentHash = z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits");
export type PaymentHash = z.infer<typeof PaymentHash>;

/**
 * A BOLT 11 string as nodes write it: lowercase bech32 starting "ln". Not decoded here: the payer's
 * wallet decodes it; we only refuse what cannot be one, and a length no real invoice reaches.
 */
export const Bolt11 = z.string().max(8_192).regex(/^ln[0-9a-z]+$/, "a BOLT 11 invoice (ln..., lowercase bech32)");

export const InvoiceRequest = z
  .object({
    amountSats: z.number().int().min(1).max(MAX_INVOICE_SATS),
    memo: z.string().refine((m) => Buffer.byteLength(m, "utf8") <= MAX_MEMO_BYTES, `at most ${MAX_MEMO_BYTES} bytes (BOLT 11)`),
    expirySeconds: z.number().int().min(1).max(MAX_EXPIRY_SECONDS),
  })
  .strict();
export type InvoiceRequest = z.infer<typeof InvoiceRequest>;

export const CreatedInvoice = z.object({
  paymentHash: PaymentHash,
  bolt11: Bolt11,
  /** When the invoice stops being payable; never later than the node's own expiry. */
  expiresAt: z.iso.datetime(),
});
export type CreatedInvoice = z.infer<typeof CreatedInvoice>;

/**
 * open: payable, not paid; settled: the node holds the money; expired: past its expiry, unpaid;
 * canceled: withdrawn before its expiry. Only settled means paid.
 */
export const InvoiceState = z.enum(["open", "settled", "expired", "canceled"]);
export type InvoiceState = z.infer<typeof InvoiceState>;

export const InvoiceStatus = z.object({
  state: InvoiceState,
  /** What the node received; 0 unless settled (an accepted but unsettled payment is not money yet). */
  amountPaidSats: z.number().int().nonnegative(),
  settledAt: z.iso.datetime().optional(),
});
export type InvoiceStatus = z.infer<typeof InvoiceStatus>;

export interface LightningProvider {
  readonly kind: ProviderKind;
  /** True for the mock only: it takes no money and must never run in production. */
  readonly development: boolean;
  /** For logs and status pages: the provider and where it is, never a credential. */
  readonly label: string;
  createInvoice(request: InvoiceRequest): Promise<CreatedInvoice>;
  lookupInvoice(paymentHash: PaymentHash): Promise<InvoiceStatus>;
}

/**
 * Why a call failed. unreachable: no connection or TLS refused; timeout: no whole answer in time;
 * auth: the node refused our credential; not_found: it knows no such invoice; rejected: it
 * answered with an error of its own; malformed: the reply was not what its API promises (wrong
 * shape, not JSON, too large, about another invoice); invalid_request: we refused to send it.
 */
export const FailureReason = z.enum(["unreachable", "timeout", "auth", "not_found", "rejected", "malformed", "invalid_request"]);
export type FailureReason = z.infer<typeof FailureReason>;

export type ProviderOperation = "createInvoice" | "lookupInvoice";

const REASON_TEXT: Record<FailureReason, string> = {
  unreachable: "provider unreachable",
  timeout: "no answer in time",
  auth: "authentication refused",
  not_found: "no such invoice",
  rejected: "refused by the provider",
  malformed: "malformed reply",
  invalid_request: "invalid request",
};

export class LightningProviderError extends Error {
  override readonly name = "LightningProviderError";
  constructor(
    readonly provider: ProviderKind,
    readonly operation: ProviderOperation,
    readonly reason: FailureReason,
    readonly detail: string,
    /** Where the provider is (a URL without credentials), when it has one. */
    readonly endpoint?: string,
  ) {
    super(`${provider}${endpoint ? ` at ${endpoint}` : ""}: ${operation} failed, ${REASON_TEXT[reason]}: ${detail}`);
  }
}

/** Validates a request before anything is sent, so a bad amount never reaches a node. */
export function checkedRequest(provider: ProviderKind, request: unknown, endpoint?: string): InvoiceRequest {
  const parsed = InvoiceRequest.safeParse(request);
  if (!parsed.success) throw new LightningProviderError(provider, "createInvoice", "invalid_request", z.prettifyError(parsed.error), endpoint);
  return parsed.data;
}

export function checkedHash(provider: ProviderKind, paymentHash: unknown, endpoint?: string): PaymentHash {
  const parsed = PaymentHash.safeParse(paymentHash);
  if (!parsed.success) throw new LightningProviderError(provider, "lookupInvoice", "invalid_request", `payment hash must be ${z.prettifyError(parsed.error)}`, endpoint);
  return parsed.data;
}

/** The last second of year 9999: a time a node writes past it is not a time (and Date cannot hold some). */
export const MAX_UNIX_SECONDS = 253_402_300_799;

/** Unix seconds (as nodes write times) to ISO; undefined for 0, which nodes write for "never". */
export function isoOfUnixSeconds(seconds: number): string | undefined {
  return seconds > 0 ? new Date(seconds * 1000).toISOString() : undefined;
}
