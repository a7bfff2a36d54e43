import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  Bolt11,
  checkedHash,
  checkedRequest,
  CreatedInvoice,
  InvoiceStatus,
  isoOfUnixSeconds,
  LightningProviderError,
  MAX_UNIX_SECONDS,
  PaymentHash,
  type FailureReason,
  type LightningProvider,
  type ProviderOperation,
} from "./provider.js";
import { DEFAULT_MAX_REPLY_BYTES, DEFAULT_TIMEOUT_MS, excerpt, restJsonCall } from "./restCall.js";

/**
 * Core Lightning through clnrest (CLN >= 23.08; the Python plugin, rewritten in Rust in 24.11,
 * same wire format). Followed: plugins/clnrest/README.md and plugins/rest-plugin/src/{handlers,
 * shared}.rs in ElementsProject/lightning, and the RPC schemas doc/schemas/invoice.json and
 * listinvoices.json there:
 * - POST /v1/<rpc method> with the method's named parameters as a JSON body; the result comes
 *   back as JSON with HTTP 201. An RPC error is { code, message } with HTTP 500 (404 for an
 *   unknown method); the Python plugin wrapped it as { error: { code, message } }.
 * - The rune goes in the Rune header. No rune: 403 "Not authorized: Missing rune"; a rune
 *   checkrune refuses: 401 (the Python plugin answered 403 to both).
 * - invoice { amount_msat, label, description, expiry } -> { payment_hash, bolt11, expires_at
 *   (unix seconds), payment_secret, created_index }; label must be unique on the node.
 * - listinvoices { payment_hash } -> { invoices: [{ payment_hash, status (unpaid | paid |
 *   expired), expires_at, amount_msat, and when paid: amount_received_msat, paid_at, ... }] }.
 *   Amounts are integers in millisatoshi.
 */
export interface ClnConfig {
  /** https://host:3010 of clnrest (its rest-port). */
  readonly restUrl: string;
  /** A rune (createrune) that allows invoice and listinvoices. */
  readonly rune: string;
  /** clnrest's ca.pem (in its rest-certs folder), trusted instead of the system's CAs. */
  readonly tlsCertPem?: string;
  readonly timeoutMs?: number;
  readonly maxReplyBytes?: number;
  readonly now?: () => Date;
}

const Msat = z.number().int().nonnegative().refine(Number.isSafeInteger, "a safe integer");
const UnixSeconds = z.number().int().positive().max(MAX_UNIX_SECONDS);

const InvoiceReply = z.object({ payment_hash: PaymentHash, bolt11: Bolt11, expires_at: UnixSeconds }).loose();

const ListedInvoice = z.discriminatedUnion("status", [
  z.object({ status: z.literal("unpaid"), payment_hash: PaymentHash, expires_at: UnixSeconds }).loose(),
  z.object({ status: z.literal("paid"), payment_hash: PaymentHash, amount_received_msat: Msat, paid_at: UnixSeconds }).loose(),
  z.object({ status: z.literal("expired"), payment_hash: PaymentHash }).loose(),
]);
/** Asked by payment hash, the node lists that invoice or none. */
const ListInvoicesReply = z.object({ invoices: z.array(ListedInvoice).max(1) }).loose();

const RpcError = z.object({ code: z.number().int().optional(), message: z.string() }).loose();
const RpcErrorOf = z.union([RpcError, z.object({ error: RpcError }).transform((e) => e.error)]);

export function clnProvider(config: ClnConfig): LightningProvider {
  const base = new URL(config.restUrl);
  const endpoint = base.origin;
  const now = config.now ?? (() => new Date());
  const fail = (operation: ProviderOperation, reason: FailureReason, detail: string): never => {
    throw new LightningProviderError("cln", operation, reason, detail, endpoint);
  };

  async function call(operation: ProviderOperation, method: "invoice" | "listinvoices", params: Record<string, unknown>): Promise<unknown> {
    const outcome = await restJsonCall({
      url: new URL(`/v1/${method}`, base),
      method: "POST",
      headers: { rune: config.rune },
      body: params,
      ...(config.tlsCertPem !== undefined ? { ca: config.tlsCertPem } : {}),
      timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxReplyBytes: config.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
    }, (reason, detail) => fail(operation, reason, detail));
    if (outcome.ok) return outcome.json;
    const error = RpcErrorOf.safeParse(outcome.json);
    const message = error.success ? error.data.message : excerpt(outcome.text);
    const code = error.success ? error.data.code : undefined;
    const detail = `${message} (HTTP ${outcome.status}${code === undefined ? "" : `, code ${code}`})`;
    if (outcome.status === 401 || outcome.status === 403) return fail(operation, "auth", `clnrest refused the rune: ${detail}`);
    return fail(operation, "rejected", detail);
  }

  function parsed<T>(operation: ProviderOperation, schema: z.ZodType<T>, json: unknown): T {
    const result = schema.safeParse(json);
    return result.success ? result.data : fail(operation, "malformed", `not a ${operation === "createInvoice" ? "invoice" : "listinvoices"} result: ${z.prettifyError(result.error)}`);
  }

  return {
    kind: "cln",
    development: false,
    label: `cln at ${endpoint}`,
    async createInvoice(request) {
      const { amountSats, memo, expirySeconds } = checkedRequest("cln", request, endpoint);
      // The label only has to be unique on the node; it is never shown to the payer.
      const params = { amount_msat: amountSats * 1000, label: `edgecoder-${randomUUID()}`, description: memo, expiry: expirySeconds };
      const reply = parsed("createInvoice", InvoiceReply, await call("createInvoice", "invoice", params));
      return CreatedInvoice.parse({ paymentHash: reply.payment_hash, bolt11: reply.bolt11, expiresAt: isoOfUnixSeconds(reply.expires_at) });
    },
    async lookupInvoice(paymentHash) {
      const hash = checkedHash("cln", paymentHash, endpoint);
      const { invoices } = parsed("lookupInvoice", ListInvoicesReply, await call("lookupInvoice", "listinvoices", { payment_hash: hash }));
      const invoice = invoices[0] ?? fail("lookupInvoice", "not_found", `no invoice with payment hash ${hash}`);
      if (invoice.payment_hash !== hash) fail("lookupInvoice", "malformed", `asked for invoice ${hash}, clnrest answered about ${invoice.payment_hash}`);
      switch (invoice.status) {
        case "paid":
          // Millisatoshi to whole sats, rounded down: a fraction of a sat is not a sat.
          return InvoiceStatus.parse({ state: "settled", amountPaidSats: Math.floor(invoice.amount_received_msat / 1000), settledAt: isoOfUnixSeconds(invoice.paid_at) });
        case "expired":
          return { state: "expired", amountPaidSats: 0 };
        case "unpaid":
          // CLN marks an invoice expired on a timer; between its expiry and that timer it is unpayable already.
          return { state: now().getTime() >= invoice.expires_at * 1000 ? "expired" : "open", amountPaidSats: 0 };
        default: {
          const unknown: never = invoice;
          return unknown;
        }
      }
    },
  };
}
