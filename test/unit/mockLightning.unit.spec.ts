import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mockProvider, MOCK_BOLT11_PREFIX } from "../../src/adapters/lightning/mock.js";
import { LightningProviderError } from "../../src/adapters/lightning/provider.js";

/** A clock the test moves by hand. */
function manualClock(start = Date.parse("2026-03-01T12:00:00Z")) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

const request = { amountSats: 2_000, memo: "credits", expirySeconds: 900 };
const randomHash = () => createHash("sha256").update(randomBytes(32)).digest("hex");

describe("the mock Lightning provider (development)", () => {
  it("is labelled a development provider, and its invoices say they are mock ones", async () => {
    const clock = manualClock();
    const mock = mockProvider({ now: clock.now });
    expect(mock).toMatchObject({ kind: "mock", development: true });
    const invoice = await mock.createInvoice(request);
    expect(invoice.paymentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(invoice.bolt11.startsWith(MOCK_BOLT11_PREFIX)).toBe(true);
    expect(invoice.expiresAt).toBe("2026-03-01T12:15:00.000Z");
    expect((await mock.createInvoice(request)).paymentHash).not.toBe(invoice.paymentHash);
  });

  it("given an invoice, when nobody marks it paid, then it stays open and then expires, never settled", async () => {
    const clock = manualClock();
    const mock = mockProvider({ now: clock.now });
    const { paymentHash } = await mock.createInvoice(request);
    expect(await mock.lookupInvoice(paymentHash)).toEqual({ state: "open", amountPaidSats: 0 });
    clock.advance(899_999);
    expect((await mock.lookupInvoice(paymentHash)).state).toBe("open");
    clock.advance(1);
    expect(await mock.lookupInvoice(paymentHash)).toEqual({ state: "expired", amountPaidSats: 0 });
  });

  it("given an open invoice, when marked paid, then it is settled in full, and stays so past its expiry", async () => {
    const clock = manualClock();
    const mock = mockProvider({ now: clock.now });
    const { paymentHash } = await mock.createInvoice(request);
    clock.advance(60_000);
    mock.markPaid(paymentHash);
    mock.markPaid(paymentHash);
    const settled = { state: "settled", amountPaidSats: 2_000, settledAt: "2026-03-01T12:01:00.000Z" };
    expect(await mock.lookupInvoice(paymentHash)).toEqual(settled);
    clock.advance(3_600_000);
    expect(await mock.lookupInvoice(paymentHash)).toEqual(settled);
  });

  it("refuses to mark paid an invoice that is expired, canceled or unknown", async () => {
    const clock = manualClock();
    const mock = mockProvider({ now: clock.now });
    const late = await mock.createInvoice(request);
    const withdrawn = await mock.createInvoice(request);
    mock.cancel(withdrawn.paymentHash);
    expect(() => mock.markPaid(withdrawn.paymentHash)).toThrow(/it is canceled/);
    expect(await mock.lookupInvoice(withdrawn.paymentHash)).toEqual({ state: "canceled", amountPaidSats: 0 });
    clock.advance(900_000);
    expect(() => mock.markPaid(late.paymentHash)).toThrow(/it is expired/);
    expect(() => mock.markPaid(randomHash())).toThrow(/no such invoice/);
    expect((await mock.lookupInvoice(late.paymentHash)).state).toBe("expired");
  });

  it("with settleAfterMs, settles that long after creation if not expired by then", async () => {
    const clock = manualClock();
    const mock = mockProvider({ now: clock.now, settleAfterMs: 5_000 });
    const { paymentHash } = await mock.createInvoice(request);
    clock.advance(4_999);
    expect((await mock.lookupInvoice(paymentHash)).state).toBe("open");
    clock.advance(60_000);
    expect(await mock.lookupInvoice(paymentHash)).toEqual({ state: "settled", amountPaidSats: 2_000, settledAt: "2026-03-01T12:00:05.000Z" });

    const slow = mockProvider({ now: clock.now, settleAfterMs: 900_000 });
    const tooLate = await slow.createInvoice(request);
    clock.advance(1_000_000);
    expect((await slow.lookupInvoice(tooLate.paymentHash)).state).toBe("expired");
  });

  it("knows only its own invoices: a hash it did not issue is not_found, and a bad request sends nothing", async () => {
    const mock = mockProvider();
    const err = await mock.lookupInvoice(randomHash()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LightningProviderError);
    expect(err).toMatchObject({ provider: "mock", reason: "not_found" });
    await expect(mock.lookupInvoice("ABC")).rejects.toMatchObject({ reason: "invalid_request" });
    await expect(mock.createInvoice({ ...request, amountSats: 100_000_001 })).rejects.toMatchObject({ reason: "invalid_request" });
  });

  it("property: without markPaid or settleAfterMs, no sequence of creations, lookups and clock moves ever settles an invoice", async () => {
    type Step = { kind: "create"; sats: number; expiry: number } | { kind: "advance"; ms: number } | { kind: "lookup"; pick: number } | { kind: "lookupForeign" };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("create" as const), sats: fc.integer({ min: 1, max: 100_000_000 }), expiry: fc.integer({ min: 1, max: 604_800 }) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 10 * 86_400_000 }) }),
      fc.record({ kind: fc.constant("lookup" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("lookupForeign" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const clock = manualClock();
        const mock = mockProvider({ now: clock.now });
        const hashes: string[] = [];
        for (const s of steps) {
          if (s.kind === "create") hashes.push((await mock.createInvoice({ amountSats: s.sats, memo: "", expirySeconds: s.expiry })).paymentHash);
          else if (s.kind === "advance") clock.advance(s.ms);
          else if (s.kind === "lookupForeign") await expect(mock.lookupInvoice(randomHash())).rejects.toMatchObject({ reason: "not_found" });
          else if (hashes.length > 0) {
            const status = await mock.lookupInvoice(hashes[s.pick % hashes.length]!);
            expect(status.state).not.toBe("settled");
            expect(status.amountPaidSats).toBe(0);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
