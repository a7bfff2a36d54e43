import { createHash, randomBytes } from "node:crypto";
import { bech32ish, json, startRestFake, type FakeReply, type Misbehaviour, type RecordedRequest } from "./restFake.js";

/**
 * A small HTTP server that speaks LND's REST wire format for invoices (the grpc-gateway in front
 * of lnrpc.Lightning), so the real lnd adapter runs against it:
 * - POST /v1/invoices takes an lnrpc.Invoice (int64 fields as strings or numbers) and answers
 *   { r_hash (base64), payment_request, add_index (string), payment_addr (base64) }.
 * - GET /v1/invoice/{hex hash} answers the whole lnrpc.Invoice, every field present (LND's
 *   gateway emits unpopulated fields), int64 as strings; an unknown hash is 404 { code 5 }.
 * - The macaroon is checked as LND does: none is "expected 1 macaroon, got 0", a wrong one
 *   "verification failed: signature mismatch after caveat verification", both gRPC code 2 and
 *   so HTTP 500 (LND does not answer 401).
 * Like LND, it keeps an unpaid invoice OPEN after its expiry; `expire` moves its creation back.
 */
export interface FakeLnd {
  readonly url: string;
  readonly macaroonHex: string;
  readonly requests: RecordedRequest[];
  /** Pays the invoice: SETTLED with amt_paid_sat (its value unless given). */
  settle(paymentHashHex: string, amtPaidSat?: number): void;
  /** Makes the invoice's creation_date + expiry lie in the past; its state stays OPEN. */
  expire(paymentHashHex: string): void;
  /** CANCELED, as cancelinvoice (or LND's expiry watcher) leaves it. */
  cancel(paymentHashHex: string): void;
  misbehaveNext(how: Misbehaviour): void;
  close(): Promise<void>;
}

interface LndInvoice {
  readonly memo: string;
  readonly preimage: Buffer;
  readonly hash: Buffer;
  readonly value: number;
  creationDate: number;
  readonly expiry: number;
  readonly paymentRequest: string;
  readonly paymentAddr: Buffer;
  readonly addIndex: number;
  state: "OPEN" | "SETTLED" | "CANCELED" | "ACCEPTED";
  amtPaidSat: number;
  settleDate: number;
  settleIndex: number;
}

const GRPC_UNKNOWN = 2;
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;
/** LND's default invoice expiry when none is given: a day. */
const DEFAULT_EXPIRY = 86_400;

const grpcError = (status: number, code: number, message: string): FakeReply => json(status, { code, message, details: [] });
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An int64 field as the gateway reads it: a decimal string or a JSON number. */
function int64(value: unknown): number | undefined {
  if (value === undefined) return 0;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

export async function startFakeLnd(opts: { tls?: { key: string; cert: string } } = {}): Promise<FakeLnd> {
  const macaroonHex = randomBytes(96).toString("hex");
  const invoices = new Map<string, LndInvoice>();
  let addIndex = 0;
  let settleIndex = 0;

  const invoiceJson = (i: LndInvoice) => ({
    memo: i.memo,
    r_preimage: i.preimage.toString("base64"),
    r_hash: i.hash.toString("base64"),
    value: String(i.value),
    value_msat: String(i.value * 1000),
    settled: i.state === "SETTLED",
    creation_date: String(i.creationDate),
    settle_date: String(i.settleDate),
    payment_request: i.paymentRequest,
    description_hash: "",
    expiry: String(i.expiry),
    fallback_addr: "",
    cltv_expiry: "80",
    route_hints: [],
    private: false,
    add_index: String(i.addIndex),
    settle_index: String(i.settleIndex),
    amt_paid: String(i.amtPaidSat * 1000),
    amt_paid_sat: String(i.amtPaidSat),
    amt_paid_msat: String(i.amtPaidSat * 1000),
    state: i.state,
    htlcs: [],
    features: {},
    is_keysend: false,
    payment_addr: i.paymentAddr.toString("base64"),
    is_amp: false,
    amp_invoice_state: {},
  });

  const addInvoice = (body: unknown): FakeReply => {
    const b = (body ?? {}) as Record<string, unknown>;
    const value = int64(b.value);
    const expiry = int64(b.expiry);
    const memo = b.memo === undefined ? "" : b.memo;
    if (value === undefined || expiry === undefined || typeof memo !== "string") return grpcError(400, GRPC_INVALID_ARGUMENT, "proto: syntax error (line 1:1): invalid value");
    if (value < 0) return grpcError(500, GRPC_UNKNOWN, "payment of negative value is not allowed");
    if (Buffer.byteLength(memo) > 1024) return grpcError(500, GRPC_UNKNOWN, "memo too large: 1025 bytes (maxlen=1024)");
    const preimage = randomBytes(32);
    const hash = createHash("sha256").update(preimage).digest();
    const invoice: LndInvoice = {
      memo,
      preimage,
      hash,
      value,
      creationDate: nowSeconds(),
      expiry: expiry || DEFAULT_EXPIRY,
      paymentRequest: `lnbcrt${value * 10}n1p${bech32ish(randomBytes(180))}`,
      paymentAddr: randomBytes(32),
      addIndex: ++addIndex,
      state: "OPEN",
      amtPaidSat: 0,
      settleDate: 0,
      settleIndex: 0,
    };
    invoices.set(hash.toString("hex"), invoice);
    return json(200, { r_hash: hash.toString("base64"), payment_request: invoice.paymentRequest, add_index: String(invoice.addIndex), payment_addr: invoice.paymentAddr.toString("base64") });
  };

  const answer = (request: RecordedRequest): FakeReply => {
    const macaroon = request.headers["grpc-metadata-macaroon"];
    if (macaroon === undefined) return grpcError(500, GRPC_UNKNOWN, "expected 1 macaroon, got 0");
    if (macaroon !== macaroonHex) return grpcError(500, GRPC_UNKNOWN, "verification failed: signature mismatch after caveat verification");
    if (request.method === "POST" && request.path === "/v1/invoices") return addInvoice(request.body);
    const lookup = /^\/v1\/invoice\/([^/?]*)$/.exec(request.path);
    if (request.method === "GET" && lookup) {
      const hex = lookup[1]!;
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) return grpcError(500, GRPC_UNKNOWN, "payment hash must be exactly 32 bytes");
      const invoice = invoices.get(hex.toLowerCase());
      return invoice ? json(200, invoiceJson(invoice)) : grpcError(404, GRPC_NOT_FOUND, "unable to locate invoice");
    }
    return grpcError(404, GRPC_NOT_FOUND, "Not Found");
  };

  const server = await startRestFake(answer, opts);
  const known = (hex: string) => {
    const invoice = invoices.get(hex);
    if (!invoice) throw new Error(`fake LND has no invoice ${hex}`);
    return invoice;
  };
  return {
    url: server.url,
    macaroonHex,
    requests: server.requests,
    settle(hex, amtPaidSat) {
      const invoice = known(hex);
      invoice.state = "SETTLED";
      invoice.amtPaidSat = amtPaidSat ?? invoice.value;
      invoice.settleDate = nowSeconds();
      invoice.settleIndex = ++settleIndex;
    },
    expire(hex) {
      const invoice = known(hex);
      invoice.creationDate = nowSeconds() - invoice.expiry - 1;
    },
    cancel(hex) {
      known(hex).state = "CANCELED";
    },
    misbehaveNext: server.misbehaveNext,
    close: server.close,
  };
}
