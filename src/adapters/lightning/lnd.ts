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
  type FailureReason,
  type InvoiceState,
  type LightningProvider,
  type ProviderOperation,
} from "./provider.js";
import { DEFAULT_MAX_REPLY_BYTES, DEFAULT_TIMEOUT_MS, excerpt, restJsonCall } from "./restCall.js";

/**
 * LND through its REST API (the grpc-gateway in front of lnrpc.Lightning). Wire format as in
 * LND's API reference, https://lightning.engineering/api-docs/api/lnd/lightning/add-invoice/ and
 * .../lookup-invoice/ (lnrpc/lightning.proto, lightning.swagger.json):
 * - POST /v1/invoices, body an lnrpc.Invoice ({ value, memo, expiry }), answers an
 *   AddInvoiceResponse { r_hash (bytes, base64), payment_request, add_index (uint64), payment_addr }.
 * - GET /v1/invoice/{r_hash_str}, the hash in hex, answers an lnrpc.Invoice { r_hash, state
 *   (OPEN | SETTLED | CANCELED | ACCEPTED), creation_date, expiry, amt_paid_sat, settle_date, ... }.
 * - The gateway writes int64 fields as decimal strings, bytes as base64, and errors as
 *   { code (a gRPC status), message, details } with an HTTP status mapped from the code.
 * - The macaroon goes, hex-encoded, in the Grpc-Metadata-macaroon header. LND refuses a bad one
 *   with gRPC code 2 (Unknown), so HTTP 500, and a message such as "verification failed:
 *   signature mismatch after caveat verification" or "expected 1 macaroon, got 0": auth is told
 *   apart by that message, not by the HTTP status.
 */
export interface LndConfig {
  /** https://host:8080 of LND's REST listener. */
  readonly restUrl: string;
  /** The invoice (or admin) macaroon, hex-encoded as LND's docs show. */
  readonly macaroonHex: string;
  /** LND's tls.cert (PEM), trusted instead of the system's CAs; LND signs it itself. */
  readonly tlsCertPem?: string;
  readonly timeoutMs?: number;
  readonly maxReplyBytes?: number;
  readonly now?: () => Date;
}

/** int64 as the gateway writes it (a decimal string); a JSON number is taken too. */
const Int64 = z
  .union([z.string().regex(/^\d{1,16}$/), z.number().int().nonnegative()])
  .transform(Number)
  .refine(Number.isSafeInteger, "a safe integer");

/** A 32-byte hash in base64 (the gateway's standard alphabet; URL-safe is decoded too), as hex. */
const Hash32Base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]{43}=?$/, "32 bytes in base64")
  .transform((b64) => Buffer.from(b64, "base64").toString("hex"));

const UnixSeconds = Int64.refine((s) => s <= MAX_UNIX_SECONDS, "a time before year 10000");

const AddInvoiceReply = z.object({ r_hash: Hash32Base64, payment_request: Bolt11, add_index: Int64.optional() }).loose();

const InvoiceReply = z
  .object({
    r_hash: Hash32Base64,
    state: z.enum(["OPEN", "SETTLED", "CANCELED", "ACCEPTED"]),
    creation_date: UnixSeconds,
    expiry: UnixSeconds,
    amt_paid_sat: Int64.default(0),
    settle_date: UnixSeconds.default(0),
  })
  .loose();

const GatewayError = z.object({ code: z.number().int(), message: z.string() }).loose();

/** gRPC status codes the gateway sends that this adapter tells apart. */
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;
const MACAROON_REFUSED = /macaroon|verification failed|permission denied|invalid id|caveat/i;
const NO_SUCH_INVOICE = /unable to locate invoice|there are no existing invoices/i;

export function lndProvider(config: LndConfig): LightningProvider {
  const base = new URL(config.restUrl);
  const endpoint = base.origin;
  const now = config.now ?? (() => new Date());
  const fail = (operation: ProviderOperation, reason: FailureReason, detail: string): never => {
    throw new LightningProviderError("lnd", operation, reason, detail, endpoint);
  };

  async function call(operation: ProviderOperation, method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const outcome = await restJsonCall({
      url: new URL(path, base),
      method,
      headers: { "grpc-metadata-macaroon": config.macaroonHex },
      body,
      ...(config.tlsCertPem !== undefined ? { ca: config.tlsCertPem } : {}),
      timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxReplyBytes: config.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
    }, (reason, detail) => fail(operation, reason, detail));
    if (outcome.ok) return outcome.json;
    const error = GatewayError.safeParse(outcome.json);
    const message = error.success ? error.data.message : excerpt(outcome.text);
    const code = error.success ? error.data.code : undefined;
    if (outcome.status === 401 || outcome.status === 403 || code === GRPC_UNAUTHENTICATED || code === GRPC_PERMISSION_DENIED || MACAROON_REFUSED.test(message)) {
      return fail(operation, "auth", `LND refused the macaroon: ${message} (HTTP ${outcome.status})`);
    }
    if (operation === "lookupInvoice" && (outcome.status === 404 || code === GRPC_NOT_FOUND || NO_SUCH_INVOICE.test(message))) {
      return fail(operation, "not_found", `${message} (HTTP ${outcome.status})`);
    }
    return fail(operation, "rejected", `${message} (HTTP ${outcome.status}${code === undefined ? "" : `, code ${code}`})`);
  }

  function parsed<T>(operation: ProviderOperation, schema: z.ZodType<T>, json: unknown): T {
    const result = schema.safeParse(json);
    return result.success ? result.data : fail(operation, "malformed", `not an LND ${operation === "createInvoice" ? "AddInvoiceResponse" : "Invoice"}: ${z.prettifyError(result.error)}`);
  }

  return {
    kind: "lnd",
    development: false,
    label: `lnd at ${endpoint}`,
    async createInvoice(request) {
      const { amountSats, memo, expirySeconds } = checkedRequest("lnd", request, endpoint);
      // LND stamps creation_date in whole seconds at or after this instant, so this expiry is
      // never later than LND's own (creation_date + expiry).
      const sentAtSeconds = Math.floor(now().getTime() / 1000);
      const reply = parsed("createInvoice", AddInvoiceReply, await call("createInvoice", "POST", "/v1/invoices", { value: String(amountSats), memo, expiry: String(expirySeconds) }));
      return CreatedInvoice.parse({ paymentHash: reply.r_hash, bolt11: reply.payment_request, expiresAt: isoOfUnixSeconds(sentAtSeconds + expirySeconds) });
    },
    async lookupInvoice(paymentHash) {
      const hash = checkedHash("lnd", paymentHash, endpoint);
      const invoice = parsed("lookupInvoice", InvoiceReply, await call("lookupInvoice", "GET", `/v1/invoice/${hash}`));
      if (invoice.r_hash !== hash) fail("lookupInvoice", "malformed", `asked for invoice ${hash}, LND answered about ${invoice.r_hash}`);
      const expired = now().getTime() >= (invoice.creation_date + invoice.expiry) * 1000;
      const state = stateOf(invoice.state, expired);
      const settledAt = state === "settled" ? isoOfUnixSeconds(invoice.settle_date) : undefined;
      return InvoiceStatus.parse({ state, amountPaidSats: state === "settled" ? invoice.amt_paid_sat : 0, ...(settledAt ? { settledAt } : {}) });
    },
  };
}

/**
 * LND keeps an unpaid invoice OPEN past its expiry until its expiry watcher cancels it, so an
 * OPEN invoice past creation_date + expiry is expired, and so is a CANCELED one past it (that is
 * what the watcher does). ACCEPTED is a held payment not yet settled: not money yet.
 */
function stateOf(state: "OPEN" | "SETTLED" | "CANCELED" | "ACCEPTED", expired: boolean): InvoiceState {
  switch (state) {
    case "SETTLED":
      return "settled";
    case "CANCELED":
      return expired ? "expired" : "canceled";
    case "OPEN":
    case "ACCEPTED":
      return expired && state === "OPEN" ? "expired" : "open";
    default: {
      const unknown: never = state;
      return unknown;
    }
  }
}
