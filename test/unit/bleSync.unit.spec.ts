import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bleAmount, bleModelQuality, bleSignatureHolds, bleTransactionText, planBleSync, type BleTransaction } from "../../src/domain/credits/bleSync.js";
import { newSigner } from "../support/events.js";

const a = newSigner();
const b = newSigner();
let n = 0;
function tx(cpuSeconds: number, model = "m:7b", signer = a, provider = b.publicKey): BleTransaction {
  const unsigned = { txId: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`, requester: signer.publicKey, provider, cpuSeconds, model, at: "2026-12-04T12:00:00.000Z" };
  return { ...unsigned, signature: signer.sign(new TextEncoder().encode(bleTransactionText(unsigned))) };
}
const facts = (availableA: number, synced: string[] = []) => ({
  accountOf: (k: string) => (k === a.publicKey ? "acct-a" : k === b.publicKey ? "acct-b" : undefined),
  available: (acct: string) => (acct === "acct-a" ? availableA : 0),
  synced: (id: string) => synced.includes(id),
});

describe("offline BLE transactions", () => {
  it("earn the seeds' rate: CPU-seconds x 1.0 x the model's quality by size", () => {
    expect(["m:7b", "m:70b", "m:3.8b", "m:1.5b", "m:0.5b"].map(bleModelQuality)).toEqual([1.0, 1.0, 0.7, 0.5, 0.3]);
    expect(bleAmount({ cpuSeconds: 2.5, model: "m:3b" })).toBe(1_750);
  });

  it("a signature covers every field: changing one breaks it", () => {
    const t = tx(1);
    expect(bleSignatureHolds(t)).toBe(true);
    for (const changed of [{ cpuSeconds: 2 }, { model: "m:70b" }, { provider: a.publicKey }, { at: "2026-12-04T12:00:01.000Z" }, { txId: "00000000-0000-4000-8000-999999999999" }]) {
      expect(bleSignatureHolds({ ...t, ...changed })).toBe(false);
    }
  });

  it("given earlier syncs, when a batch repeats them, then they are repeats and move nothing again", () => {
    const [t1, t2] = [tx(1), tx(1)];
    expect(planBleSync([t1, t2], facts(10_000, [t1.txId]))).toEqual({ moves: [{ txId: t2.txId, payer: "acct-a", earner: "acct-b", amount: 1_000 }], repeats: [t1.txId] });
  });

  it("property: a planned batch never spends more than a payer holds; one that would is refused whole", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 50_000 }), (seconds, held) => {
        const batch = seconds.map((s) => tx(s));
        const plan = planBleSync(batch, facts(held));
        const total = batch.reduce((sum, t) => sum + bleAmount(t), 0);
        if (total <= held) expect(plan).toMatchObject({ moves: expect.any(Array), repeats: [] });
        else expect(plan).toMatchObject({ refused: "insufficient_credits" });
        if ("moves" in plan) expect(plan.moves.reduce((s, m) => s + m.amount, 0)).toBeLessThanOrEqual(held);
      }),
      { numRuns: 50 },
    );
  });
});
