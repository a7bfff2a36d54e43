import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { clnProvider } from "../../src/adapters/lightning/cln.js";
import { lndProvider } from "../../src/adapters/lightning/lnd.js";
import { LightningProviderError, type FailureReason, type LightningProvider } from "../../src/adapters/lightning/provider.js";
import { startFakeCln } from "../support/fakeCln.js";
import { startFakeLnd } from "../support/fakeLnd.js";
import { json, type FakeReply, type Misbehaviour, type RecordedRequest } from "../support/restFake.js";
import { selfSignedCert } from "../support/selfSignedCert.js";

/** What a test may change about the adapter it gets: everything else is the fake's truth. */
interface Overrides {
  readonly credential?: string;
  readonly tlsCertPem?: string;
  readonly timeoutMs?: number;
  readonly maxReplyBytes?: number;
}

/** One fake node and the adapter for it, the same tests run against each. */
interface Node {
  readonly url: string;
  readonly requests: RecordedRequest[];
  provider(overrides?: Overrides): LightningProvider;
  pay(paymentHash: string, sats?: number): void;
  expire(paymentHash: string): void;
  misbehaveNext(how: Misbehaviour): void;
  close(): Promise<void>;
  /** A well-formed "settled" reply, but about another invoice. */
  settledReplyAbout(paymentHash: string): FakeReply;
  /** A reply of the right shape whose numbers no node writes. */
  hostileReplyAbout(paymentHash: string): FakeReply;
  /** The credential header the adapter must send, and what the request body must say. */
  expectCreateRequest(request: RecordedRequest): void;
}

interface Harness {
  readonly name: "lnd" | "cln";
  start(tls?: { key: string; cert: string }): Promise<Node>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

const harnesses: Harness[] = [
  {
    name: "lnd",
    async start(tls) {
      const fake = await startFakeLnd(tls ? { tls } : {});
      return {
        url: fake.url,
        requests: fake.requests,
        provider: (o = {}) =>
          lndProvider({ restUrl: fake.url, macaroonHex: o.credential ?? fake.macaroonHex, tlsCertPem: o.tlsCertPem, timeoutMs: o.timeoutMs, maxReplyBytes: o.maxReplyBytes }),
        pay: (hash, sats) => fake.settle(hash, sats),
        expire: (hash) => fake.expire(hash),
        misbehaveNext: fake.misbehaveNext,
        close: fake.close,
        settledReplyAbout: (hash) =>
          json(200, { r_hash: b64(hash), state: "SETTLED", creation_date: String(nowSeconds()), expiry: "900", amt_paid_sat: "1500", settle_date: String(nowSeconds()) }),
        hostileReplyAbout: (hash) =>
          json(200, { r_hash: b64(hash), state: "SETTLED", creation_date: String(nowSeconds()), expiry: "900", amt_paid_sat: "-1500", settle_date: "99999999999999" }),
        expectCreateRequest(request) {
          expect(request).toMatchObject({ method: "POST", path: "/v1/invoices", body: { value: "1500", memo: "credits for alice", expiry: "900" } });
          expect(request.headers["grpc-metadata-macaroon"]).toBe(fake.macaroonHex);
        },
      };
    },
  },
  {
    name: "cln",
    async start(tls) {
      const fake = await startFakeCln(tls ? { tls } : {});
      return {
        url: fake.url,
        requests: fake.requests,
        provider: (o = {}) => clnProvider({ restUrl: fake.url, rune: o.credential ?? fake.rune, tlsCertPem: o.tlsCertPem, timeoutMs: o.timeoutMs, maxReplyBytes: o.maxReplyBytes }),
        pay: (hash, sats) => fake.pay(hash, sats === undefined ? undefined : sats * 1000),
        expire: (hash) => fake.expire(hash),
        misbehaveNext: fake.misbehaveNext,
        close: fake.close,
        settledReplyAbout: (hash) =>
          json(201, { invoices: [{ label: "x", payment_hash: hash, status: "paid", amount_msat: 1_500_000, amount_received_msat: 1_500_000, paid_at: nowSeconds(), expires_at: nowSeconds() + 900, created_index: 1 }] }),
        hostileReplyAbout: (hash) =>
          json(201, { invoices: [{ label: "x", payment_hash: hash, status: "paid", amount_msat: 1_500_000, amount_received_msat: -1_500_000, paid_at: 1e15, expires_at: nowSeconds() + 900, created_index: 1 }] }),
        expectCreateRequest(request) {
          expect(request).toMatchObject({ method: "POST", path: "/v1/invoice", body: { amount_msat: 1_500_000, description: "credits for alice", expiry: 900 } });
          expect((request.body as { label: unknown }).label).toMatch(/^edgecoder-/);
          expect(request.headers.rune).toBe(fake.rune);
        },
      };
    },
  },
];

const invoiceRequest = { amountSats: 1500, memo: "credits for alice", expirySeconds: 900 };
const randomHash = () => createHash("sha256").update(randomBytes(32)).digest("hex");

async function failure(promise: Promise<unknown>): Promise<LightningProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LightningProviderError);
  return err as LightningProviderError;
}

async function expectFailure(promise: Promise<unknown>, reason: FailureReason, message: RegExp): Promise<LightningProviderError> {
  const err = await failure(promise);
  expect(err.reason).toBe(reason);
  expect(err.message).toMatch(message);
  return err;
}

let open: Node[] = [];
afterEach(async () => {
  await Promise.all(open.map((n) => n.close()));
  open = [];
});

describe.each(harnesses)("the $name provider against a server speaking its REST wire format", (harness) => {
  const start = async (tls?: { key: string; cert: string }) => {
    const node = await harness.start(tls);
    open.push(node);
    return node;
  };

  it("creates an invoice as the node's API asks, and reports it open", async () => {
    const node = await start();
    const provider = node.provider();
    expect(provider).toMatchObject({ kind: harness.name, development: false });
    const before = Date.now();
    const invoice = await provider.createInvoice(invoiceRequest);
    expect(invoice.paymentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(invoice.bolt11).toMatch(/^lnbcrt/);
    // Never later than the node's own expiry: at most creation + 900 s.
    const expiresAt = Date.parse(invoice.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
    node.expectCreateRequest(node.requests.at(-1)!);

    expect(await provider.lookupInvoice(invoice.paymentHash)).toEqual({ state: "open", amountPaidSats: 0 });
  });

  it("reports a paid invoice settled, with what the node received and when", async () => {
    const node = await start();
    const provider = node.provider();
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    node.pay(paymentHash);
    const status = await provider.lookupInvoice(paymentHash);
    expect(status).toMatchObject({ state: "settled", amountPaidSats: 1500 });
    expect(Math.abs(Date.parse(status.settledAt!) - Date.now())).toBeLessThan(5_000);

    const overpaid = await provider.createInvoice(invoiceRequest);
    node.pay(overpaid.paymentHash, 1600);
    expect(await provider.lookupInvoice(overpaid.paymentHash)).toMatchObject({ state: "settled", amountPaidSats: 1600 });
  });

  it("reports an unpaid invoice past its expiry as expired", async () => {
    const node = await start();
    const provider = node.provider();
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    node.expire(paymentHash);
    expect(await provider.lookupInvoice(paymentHash)).toEqual({ state: "expired", amountPaidSats: 0 });
  });

  it("says not_found for an invoice the node does not know", async () => {
    const node = await start();
    await expectFailure(node.provider().lookupInvoice(randomHash()), "not_found", new RegExp(`^${harness.name} at http://127\\.0\\.0\\.1:\\d+: lookupInvoice failed, no such invoice`));
  });

  it("names authentication when the node refuses the credential", async () => {
    const node = await start();
    const wrong = harness.name === "lnd" ? randomBytes(96).toString("hex") : randomBytes(48).toString("base64url");
    const err = await expectFailure(node.provider({ credential: wrong }).createInvoice(invoiceRequest), "auth", /createInvoice failed, authentication refused/);
    expect(err.message).toMatch(harness.name === "lnd" ? /macaroon/ : /rune/);
    await expectFailure(node.provider({ credential: wrong }).lookupInvoice(randomHash()), "auth", /authentication refused/);
  });

  it("says unreachable, naming the provider and where, when nothing listens there", async () => {
    const node = await start();
    await node.close();
    const err = await expectFailure(node.provider().createInvoice(invoiceRequest), "unreachable", /provider unreachable: .*ECONNREFUSED/);
    expect(err.message).toContain(`${harness.name} at ${node.url}`);
  });

  it("gives up on a node that does not answer in time, or hangs up", async () => {
    const node = await start();
    node.misbehaveNext("stall");
    const started = Date.now();
    await expectFailure(node.provider({ timeoutMs: 300 }).createInvoice(invoiceRequest), "timeout", /no whole answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    node.misbehaveNext("hangup");
    await expectFailure(node.provider().createInvoice(invoiceRequest), "unreachable", /socket hang up|ECONNRESET/);
  });

  it("refuses a reply that is not JSON or not of the API's shape", async () => {
    const node = await start();
    const provider = node.provider();
    node.misbehaveNext({ status: 200, body: "<html>proxy login</html>", headers: { "content-type": "text/html" } });
    await expectFailure(provider.createInvoice(invoiceRequest), "malformed", /not JSON: <html>proxy login/);
    node.misbehaveNext(json(201, { payment_hash: "zz", bolt11: 42 }));
    await expectFailure(provider.createInvoice(invoiceRequest), "malformed", /malformed reply/);
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    node.misbehaveNext(json(200, { state: "PAID_IN_FULL_TRUST_ME", invoices: [{ status: "paid" }] }));
    await expectFailure(provider.lookupInvoice(paymentHash), "malformed", /malformed reply/);
  });

  it("refuses a settled reply about another invoice than the one asked for", async () => {
    const node = await start();
    const provider = node.provider();
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    node.misbehaveNext(node.settledReplyAbout(randomHash()));
    await expectFailure(provider.lookupInvoice(paymentHash), "malformed", new RegExp(`asked for invoice ${paymentHash}`));
    node.misbehaveNext(node.settledReplyAbout(paymentHash));
    expect(await provider.lookupInvoice(paymentHash)).toMatchObject({ state: "settled", amountPaidSats: 1500 });
  });

  it("refuses numbers no node writes: a negative amount, a time past year 9999", async () => {
    const node = await start();
    const provider = node.provider();
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    node.misbehaveNext(node.hostileReplyAbout(paymentHash));
    await expectFailure(provider.lookupInvoice(paymentHash), "malformed", /malformed reply/);
  });

  it("refuses a reply larger than its bound, declared or streamed", async () => {
    const node = await start();
    const provider = node.provider();
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    const huge = JSON.stringify({ invoices: [], padding: "x".repeat(2 * 1024 * 1024) });
    node.misbehaveNext({ status: 200, body: huge });
    await expectFailure(provider.lookupInvoice(paymentHash), "malformed", /reply larger than 262144 bytes/);
    node.misbehaveNext({ status: 200, body: huge, headers: { "transfer-encoding": "chunked" } });
    await expectFailure(provider.lookupInvoice(paymentHash), "malformed", /reply larger than 262144 bytes/);
    // A normal reply still fits a tight bound.
    expect((await node.provider({ maxReplyBytes: 4096 }).lookupInvoice(paymentHash)).state).toBe("open");
  });

  it("sends nothing for a request out of bounds or a payment hash that is not one", async () => {
    const node = await start();
    const provider = node.provider();
    const sent = node.requests.length;
    await expectFailure(provider.createInvoice({ ...invoiceRequest, amountSats: 100_000_001 }), "invalid_request", /amountSats/);
    await expectFailure(provider.createInvoice({ ...invoiceRequest, amountSats: 0 }), "invalid_request", /amountSats/);
    await expectFailure(provider.createInvoice({ ...invoiceRequest, memo: "é".repeat(320) }), "invalid_request", /639 bytes/);
    await expectFailure(provider.lookupInvoice("../invoices"), "invalid_request", /64 lowercase hex digits/);
    expect(node.requests.length).toBe(sent);
  });

  const cert = selfSignedCert();
  it.skipIf(cert === undefined)("over TLS, trusts the node's own certificate when given it, and nothing else", async () => {
    const node = await start(cert!);
    expect(node.url).toMatch(/^https:/);
    const trusted = node.provider({ tlsCertPem: cert!.cert });
    const { paymentHash } = await trusted.createInvoice(invoiceRequest);
    expect((await trusted.lookupInvoice(paymentHash)).state).toBe("open");
    await expectFailure(node.provider().createInvoice(invoiceRequest), "unreachable", /self[- ]signed certificate/);
    const other = selfSignedCert()!;
    await expectFailure(node.provider({ tlsCertPem: other.cert }).createInvoice(invoiceRequest), "unreachable", /certificate/);
  });
});

describe("what only one node does", () => {
  it("lnd: CANCELED before its expiry is canceled; ACCEPTED (held, not settled) is still open", async () => {
    const fake = await startFakeLnd();
    open.push({ close: fake.close } as Node);
    const provider = lndProvider({ restUrl: fake.url, macaroonHex: fake.macaroonHex });
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    fake.cancel(paymentHash);
    expect(await provider.lookupInvoice(paymentHash)).toEqual({ state: "canceled", amountPaidSats: 0 });
    fake.misbehaveNext(json(200, { r_hash: b64(paymentHash), state: "ACCEPTED", creation_date: String(nowSeconds()), expiry: "900", amt_paid_sat: "1500", settle_date: "0" }));
    expect(await provider.lookupInvoice(paymentHash)).toEqual({ state: "open", amountPaidSats: 0 });
  });

  it("lnd: an older LND's not-found (HTTP 500, code 2, 'unable to locate invoice') is not_found too", async () => {
    const fake = await startFakeLnd();
    open.push({ close: fake.close } as Node);
    fake.misbehaveNext(json(500, { code: 2, message: "unable to locate invoice", details: [] }));
    await expectFailure(lndProvider({ restUrl: fake.url, macaroonHex: fake.macaroonHex }).lookupInvoice(randomHash()), "not_found", /unable to locate invoice/);
  });

  it("cln: millisatoshi received are rounded down to whole sats; a missing rune is auth (403) too", async () => {
    const fake = await startFakeCln();
    open.push({ close: fake.close } as Node);
    const provider = clnProvider({ restUrl: fake.url, rune: fake.rune });
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    fake.pay(paymentHash, 1_500_999);
    expect(await provider.lookupInvoice(paymentHash)).toMatchObject({ state: "settled", amountPaidSats: 1500 });
    fake.misbehaveNext(json(403, { code: 1501, message: "Not authorized: Missing rune" }));
    await expectFailure(provider.lookupInvoice(paymentHash), "auth", /Missing rune/);
  });

  it("cln: an unpaid invoice past expires_at is expired before CLN's timer marks it", async () => {
    const fake = await startFakeCln();
    open.push({ close: fake.close } as Node);
    const provider = clnProvider({ restUrl: fake.url, rune: fake.rune, now: () => new Date(Date.now() + 901_000) });
    const { paymentHash } = await provider.createInvoice(invoiceRequest);
    expect(await provider.lookupInvoice(paymentHash)).toEqual({ state: "expired", amountPaidSats: 0 });
  });

  it("cln: an RPC error is rejected with CLN's code and message", async () => {
    const fake = await startFakeCln();
    open.push({ close: fake.close } as Node);
    fake.misbehaveNext(json(500, { code: 900, message: "Duplicate label 'edgecoder-x'" }));
    await expectFailure(clnProvider({ restUrl: fake.url, rune: fake.rune }).createInvoice(invoiceRequest), "rejected", /Duplicate label .*HTTP 500, code 900/);
  });
});
