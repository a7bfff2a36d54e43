import { createHash, randomBytes } from "node:crypto";
import { checkedHash, checkedRequest, LightningProviderError, type InvoiceStatus, type LightningProvider, type PaymentHash } from "./provider.js";

/**
 * A real provider for development, which takes no money: its invoices are random payment hashes
 * with a bolt11 no wallet can pay ("lnmock..."), and one is paid only when someone with the
 * provider object in hand says so (markPaid, for development and tests) or, if settleAfterMs is
 * set, that long after it was created. Nothing a caller sends can settle one: lookupInvoice takes
 * a payment hash and nothing else. lightningProviderFrom refuses it when EC_ENV=production.
 */
export interface MockLightningProvider extends LightningProvider {
  readonly kind: "mock";
  readonly development: true;
  /** Settles an open invoice in full, as if its payer had paid. Throws for an unknown, expired or canceled one. */
  markPaid(paymentHash: PaymentHash): void;
  /** Withdraws an open invoice, as a node's cancelinvoice would. */
  cancel(paymentHash: PaymentHash): void;
}

export interface MockConfig {
  readonly now?: () => Date;
  /** Settle every invoice this long after its creation, if it has not expired by then. */
  readonly settleAfterMs?: number;
}

/** The prefix of every mock bolt11: a wallet refuses it, and a person reading it sees what it is. */
export const MOCK_BOLT11_PREFIX = "lnmock";

interface MockInvoice {
  readonly amountSats: number;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  settledAtMs?: number;
  canceled: boolean;
}

export function mockProvider(config: MockConfig = {}): MockLightningProvider {
  const now = config.now ?? (() => new Date());
  const invoices = new Map<PaymentHash, MockInvoice>();
  const label = "mock (development only: takes no money)";

  const known = (operation: "lookupInvoice", paymentHash: PaymentHash): MockInvoice => {
    const invoice = invoices.get(paymentHash);
    if (!invoice) throw new LightningProviderError("mock", operation, "not_found", `no invoice with payment hash ${paymentHash}`);
    return invoice;
  };

  /** Settles lazily, at lookup, so the mock needs no timers and a test's clock decides. */
  const statusOf = (invoice: MockInvoice, atMs: number): InvoiceStatus => {
    if (invoice.settledAtMs === undefined && !invoice.canceled && config.settleAfterMs !== undefined) {
      const due = invoice.createdAtMs + config.settleAfterMs;
      if (due <= atMs && due < invoice.expiresAtMs) invoice.settledAtMs = due;
    }
    if (invoice.settledAtMs !== undefined) return { state: "settled", amountPaidSats: invoice.amountSats, settledAt: new Date(invoice.settledAtMs).toISOString() };
    if (invoice.canceled) return { state: "canceled", amountPaidSats: 0 };
    return { state: atMs >= invoice.expiresAtMs ? "expired" : "open", amountPaidSats: 0 };
  };

  const openOne = (action: string, paymentHash: PaymentHash): MockInvoice => {
    const invoice = invoices.get(checkedHash("mock", paymentHash));
    if (!invoice) throw new Error(`mock Lightning provider: cannot ${action} ${paymentHash}: no such invoice`);
    const { state } = statusOf(invoice, now().getTime());
    if (state === "expired" || state === "canceled") throw new Error(`mock Lightning provider: cannot ${action} ${paymentHash}: it is ${state}`);
    return invoice;
  };

  return {
    kind: "mock",
    development: true,
    label,
    async createInvoice(request) {
      const { amountSats, expirySeconds } = checkedRequest("mock", request);
      const paymentHash = createHash("sha256").update(randomBytes(32)).digest("hex");
      const createdAtMs = now().getTime();
      const expiresAtMs = createdAtMs + expirySeconds * 1000;
      invoices.set(paymentHash, { amountSats, createdAtMs, expiresAtMs, canceled: false });
      return { paymentHash, bolt11: `${MOCK_BOLT11_PREFIX}${amountSats}sat1${paymentHash}`, expiresAt: new Date(expiresAtMs).toISOString() };
    },
    async lookupInvoice(paymentHash) {
      const hash = checkedHash("mock", paymentHash);
      return statusOf(known("lookupInvoice", hash), now().getTime());
    },
    markPaid(paymentHash) {
      const invoice = openOne("mark paid", paymentHash);
      invoice.settledAtMs ??= now().getTime();
    },
    cancel(paymentHash) {
      const invoice = openOne("cancel", paymentHash);
      if (invoice.settledAtMs !== undefined) throw new Error(`mock Lightning provider: cannot cancel ${paymentHash}: it is settled`);
      invoice.canceled = true;
    },
  };
}
