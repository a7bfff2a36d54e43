import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { sealEvent, verifyEventSignature } from "../../src/adapters/crypto/eventSigning.js";
import { inlineVerifier } from "../../src/adapters/crypto/verificationPool.js";
import { commitCheckerOf, commitCheckerPool } from "../../src/adapters/ledger/commitChecker.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { eventHash } from "../../src/domain/ledger/record.js";
import { creditEarned, newSigner } from "../support/events.js";

const signer = newSigner();
const pool = commitCheckerPool(2);
afterAll(() => pool.close());

const safeHash = (e: EventEnvelope) => {
  try {
    return eventHash(e);
  } catch {
    return "0".repeat(64);
  }
};

describe("checking commits on worker threads", () => {
  it("property: every event's verdict and hash are those of verifyEventSignature and eventHash, whatever its data", async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ data: fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 }), tamper: fc.constantFrom("none", "data", "signature", "signer") }), { maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (commits) => {
          const envelopes = commits.map((c) =>
            c.map(({ data, tamper }) => {
              const e = sealEvent(signer, { id: crypto.randomUUID(), type: "credits.earned", subject: "ec.credits.a", data, time: "2026-11-23T12:00:00.000Z", schemaVersion: 1 });
              if (tamper === "data") return { ...e, data: { ...e.data, extra: 1 } };
              if (tamper === "signature") return { ...e, signature: e.signature.replace(/^./, (ch) => (ch === "A" ? "B" : "A")) };
              if (tamper === "signer") return { ...e, signer: newSigner().publicKey };
              return e;
            }),
          );
          const texts = envelopes.map((c) => JSON.stringify(c));
          const flat = envelopes.flat();
          const expected = { valid: flat.map(verifyEventSignature), hashes: flat.map(safeHash) };
          expect(await pool.check(texts)).toEqual(expected);
          expect(await commitCheckerOf(inlineVerifier).check(texts)).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("gives no events for a message that is not a JSON array, and keeps the others in line", async () => {
    const a = creditEarned(signer, "ec.credits.a", 1);
    const b = creditEarned(signer, "ec.credits.b", 2);
    const texts = [JSON.stringify([a]), '[{"id":"x"', JSON.stringify({ not: "an array" }), JSON.stringify([7, b])];
    const checked = await pool.check(texts);
    expect(checked.valid).toEqual([true, false, true]);
    expect(checked.hashes).toEqual([eventHash(a), "0".repeat(64), eventHash(b)]);
    expect(await commitCheckerOf(inlineVerifier).check(texts)).toEqual(checked);
  });
});
