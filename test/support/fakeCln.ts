import { createHash, randomBytes } from "node:crypto";
import { bech32ish, json, startRestFake, type FakeReply, type Misbehaviour, type RecordedRequest } from "./restFake.js";

/**
 * A small HTTP server that speaks Core Lightning's clnrest wire format (CLN >= 24.11's Rust
 * plugin) for invoices, so the real cln adapter runs against it:
 * - POST /v1/<method> with named parameters as JSON; a result is HTTP 201, an RPC error
 *   { code, message } with HTTP 500, an unknown method 404 (code -32601).
 * - The Rune header is checked: none is 403 "Not authorized: Missing rune" (code 1501), a rune
 *   checkrune refuses is 401 (code 1502).
 * - invoice { amount_msat, label, description, expiry } -> { payment_hash, expires_at,
 *   bolt11, payment_secret, created_index }; a label used before is code 900.
 * - listinvoices { payment_hash } -> { invoices: [...] } with status unpaid | paid | expired and,
 *   once paid, amount_received_msat, paid_at, pay_index, payment_preimage.
 */
export interface FakeCln {
  readonly url: string;
  readonly rune: string;
  readonly requests: RecordedRequest[];
  /** Pays the invoice with amount_received_msat (its amount unless given). */
  pay(paymentHashHex: string, amountReceivedMsat?: number): void;
  /** Status expired, expires_at in the past, as CLN's expiry timer leaves it. */
  expire(paymentHashHex: string): void;
  misbehaveNext(how: Misbehaviour): void;
  close(): Promise<void>;
}

interface ClnInvoice {
  readonly label: string;
  readonly description: string;
  readonly hash: string;
  readonly preimage: string;
  readonly amountMsat: number;
  readonly bolt11: string;
  expiresAt: number;
  readonly createdIndex: number;
  status: "unpaid" | "paid" | "expired";
  paid?: { amountReceivedMsat: number; paidAt: number; payIndex: number };
}

/** CLN's default expiry when none is given: a week. */
const DEFAULT_EXPIRY = 604_800;
const rpcError = (status: number, code: number, message: string): FakeReply => json(status, { code, message });
const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function startFakeCln(opts: { tls?: { key: string; cert: string } } = {}): Promise<FakeCln> {
  const rune = randomBytes(48).toString("base64url");
  const invoices = new Map<string, ClnInvoice>();
  let createdIndex = 0;
  let payIndex = 0;

  const invoiceJson = (i: ClnInvoice) => ({
    label: i.label,
    bolt11: i.bolt11,
    payment_hash: i.hash,
    amount_msat: i.amountMsat,
    status: i.status,
    ...(i.paid ? { pay_index: i.paid.payIndex, amount_received_msat: i.paid.amountReceivedMsat, paid_at: i.paid.paidAt, payment_preimage: i.preimage } : {}),
    description: i.description,
    expires_at: i.expiresAt,
    created_index: i.createdIndex,
  });

  const methods: Record<string, (params: Record<string, unknown>) => FakeReply> = {
    invoice: ({ amount_msat, label, description, expiry }) => {
      if (!Number.isInteger(amount_msat) || (amount_msat as number) <= 0) return rpcError(500, -32602, "amount_msat: should be a millisatoshi amount: invalid token");
      if (typeof label !== "string" && typeof label !== "number") return rpcError(500, -32602, "missing required parameter: label");
      if (typeof description !== "string") return rpcError(500, -32602, "missing required parameter: description");
      if (expiry !== undefined && !Number.isInteger(expiry)) return rpcError(500, -32602, "expiry: should be an unsigned 64 bit integer: invalid token");
      const labelText = String(label);
      if ([...invoices.values()].some((i) => i.label === labelText)) return rpcError(500, 900, `Duplicate label '${labelText}'`);
      const preimage = randomBytes(32);
      const hash = createHash("sha256").update(preimage).digest("hex");
      const invoice: ClnInvoice = {
        label: labelText,
        description,
        hash,
        preimage: preimage.toString("hex"),
        amountMsat: amount_msat as number,
        bolt11: `lnbcrt${(amount_msat as number) * 10}p1p${bech32ish(randomBytes(180))}`,
        expiresAt: nowSeconds() + ((expiry as number | undefined) ?? DEFAULT_EXPIRY),
        createdIndex: ++createdIndex,
        status: "unpaid",
      };
      invoices.set(hash, invoice);
      return json(201, { payment_hash: hash, expires_at: invoice.expiresAt, bolt11: invoice.bolt11, payment_secret: randomBytes(32).toString("hex"), created_index: invoice.createdIndex });
    },
    listinvoices: ({ payment_hash }) => {
      if (payment_hash !== undefined && (typeof payment_hash !== "string" || !/^([0-9a-fA-F]{2})*$/.test(payment_hash))) return rpcError(500, -32602, "payment_hash: should be a hex value: invalid token");
      const listed = payment_hash === undefined ? [...invoices.values()] : [invoices.get(payment_hash.toLowerCase())].filter((i) => i !== undefined);
      return json(201, { invoices: listed.map(invoiceJson) });
    },
  };

  const answer = (request: RecordedRequest): FakeReply => {
    const method = /^\/v1\/([a-z0-9-]+)$/.exec(request.path)?.[1];
    if (request.method !== "POST" || method === undefined) return rpcError(404, -32601, "Path not registered");
    const given = request.headers.rune;
    if (given === undefined) return rpcError(403, 1501, "Not authorized: Missing rune");
    if (given !== rune) return rpcError(401, 1502, "Not authorized: Not derived from master");
    const handler = methods[method];
    if (!handler) return rpcError(404, -32601, `Unknown command '${method}'`);
    const params = request.body && typeof request.body === "object" && !Array.isArray(request.body) ? (request.body as Record<string, unknown>) : {};
    return handler(params);
  };

  const server = await startRestFake(answer, opts);
  const known = (hex: string) => {
    const invoice = invoices.get(hex);
    if (!invoice) throw new Error(`fake CLN has no invoice ${hex}`);
    return invoice;
  };
  return {
    url: server.url,
    rune,
    requests: server.requests,
    pay(hex, amountReceivedMsat) {
      const invoice = known(hex);
      invoice.status = "paid";
      invoice.paid = { amountReceivedMsat: amountReceivedMsat ?? invoice.amountMsat, paidAt: nowSeconds(), payIndex: ++payIndex };
    },
    expire(hex) {
      const invoice = known(hex);
      invoice.status = "expired";
      invoice.expiresAt = nowSeconds() - 1;
    },
    misbehaveNext: server.misbehaveNext,
    close: server.close,
  };
}
