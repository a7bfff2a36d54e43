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

const safeSeal = (event: Parameters<typeof sealEvent>[1]) => {
  try {
    return sealEvent(signer, event);
  } catch {
    return undefined;
  }
};
const safeVerify = (e: EventEnvelope) => {
  try {
    return verifyEventSignature(e);
  } catch {
    return false;
  }
};
const utf8 = (text: string) => new TextEncoder().encode(text);
const safeHash = (e: EventEnvelope) => {
  try {
    return eventHash(e);
  } catch {
    return "0".repeat(64);
  }
};

describe("checking commits on worker threads", () => {
  it("property: every event's verdict and hash are those of verifyEventSignature and eventHash, whatever its data", async () => {
    // Any string at all, lone surrogates too: canonical JSON refuses those, so such an event is never valid.
    const json = fc.jsonValue({ maxDepth: 3, stringUnit: fc.constantFrom(...["a", "é", "\u{1F600}", "\ud800", "\udc00", '"', "\\", "\n", "\u0001"]) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ data: fc.dictionary(fc.string({ maxLength: 8, unit: "binary" }), json, { maxKeys: 4 }), tamper: fc.constantFrom("none", "data", "signature", "signer") }), { maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (commits) => {
          const envelopes = commits.map((c) =>
            c.map(({ data, tamper }) => {
              const unsigned = { id: crypto.randomUUID(), type: "credits.earned", subject: "ec.credits.account.a", data, time: "2026-11-23T12:00:00.000Z", schemaVersion: 1 };
              // Data that has no canonical form cannot be signed: such an event carries some other signature.
              const e = safeSeal(unsigned) ?? { ...sealEvent(signer, { ...unsigned, data: {} }), data };
              if (tamper === "data") return { ...e, data: { ...e.data, extra: 1 } };
              if (tamper === "signature") return { ...e, signature: e.signature.replace(/^./, (ch) => (ch === "A" ? "B" : "A")) };
              if (tamper === "signer") return { ...e, signer: newSigner().publicKey };
              return e;
            }),
          );
          const bytes = envelopes.map((c) => utf8(JSON.stringify(c)));
          const flat = envelopes.flat();
          const expected = { valid: flat.map(safeVerify), hashes: flat.map(safeHash) };
          expect(await pool.check(bytes)).toEqual(expected);
          expect(await commitCheckerOf(inlineVerifier).check(bytes)).toEqual(expected);
          const sources = { ...expected, counts: envelopes.map((c) => c.length), fields: flat.map((e) => [e.id, e.type, e.subject, e.signer, e.time]) };
          expect(await pool.checkSources(bytes)).toEqual(sources);
          expect(await commitCheckerOf(inlineVerifier).checkSources(bytes)).toEqual(sources);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("given data whose key order JSON.stringify would not keep (index keys, __proto__, unsorted keys in arrays), then verdicts and hashes are still canonical", async () => {
    const shapes = [
      JSON.parse('{"10":1,"9":2,"a":{"2":[{"z":1,"y":2}],"b":3}}') as Record<string, unknown>,
      JSON.parse('{"__proto__":{"b":1,"a":2},"z":[3,{"d":4,"c":5}],"4294967295":0,"4294967294":1}') as Record<string, unknown>,
      JSON.parse('{"b":[[{"y":1,"x":[{"k":2,"j":3}]}]],"a":"\u00e9\ud83d\ude00"}') as Record<string, unknown>,
      JSON.parse('{"z":1,"__proto__":{"b":1,"a":2}}') as Record<string, unknown>,
    ];
    const events = shapes.map((data) => sealEvent(signer, { id: crypto.randomUUID(), type: "credits.earned", subject: "ec.credits.account.a", data, time: "2026-11-23T12:00:00.000Z", schemaVersion: 1 }));
    // The text a reader gets back: the same objects, parsed again from the stream's bytes.
    const bytes = events.map((e) => utf8(JSON.stringify([e])));
    const reread = bytes.map((b) => (JSON.parse(new TextDecoder().decode(b)) as EventEnvelope[])[0]!);
    expect(reread.map(safeVerify)).toEqual([true, true, true, true]);
    expect(await pool.check(bytes)).toEqual({ valid: [true, true, true, true], hashes: reread.map(eventHash) });
  });

  it("gives no events for a message that is not a JSON array, and keeps the others in line", async () => {
    const a = creditEarned(signer, "ec.credits.account.a", 1);
    const b = creditEarned(signer, "ec.credits.account.b", 2);
    const texts = [JSON.stringify([a]), '[{"id":"x"', JSON.stringify({ not: "an array" }), JSON.stringify([7, b])];
    // Views into one larger buffer, as a NATS client hands messages out.
    const whole = utf8(texts.join(""));
    let at = 0;
    const views = texts.map((t) => whole.subarray(at, (at += utf8(t).length)));
    const checked = await pool.check(views);
    expect(checked.valid).toEqual([true, false, true]);
    expect(checked.hashes).toEqual([eventHash(a), "0".repeat(64), eventHash(b)]);
    expect(await commitCheckerOf(inlineVerifier).check(views)).toEqual(checked);
    const sources = await pool.checkSources(views);
    expect(sources).toEqual({ ...checked, counts: [1, 0, 0, 2], fields: [[a.id, a.type, a.subject, a.signer, a.time], undefined, [b.id, b.type, b.subject, b.signer, b.time]] });
    expect(await commitCheckerOf(inlineVerifier).checkSources(views)).toEqual(sources);
  });
});
