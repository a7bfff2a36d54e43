import { hash } from "node:crypto";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SIGNED_FIELDS } from "../../src/domain/events/canonical.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { eventHash } from "../../src/domain/ledger/eventHash.js";

/** The definition: SHA-256 of the RFC 8785 text (canonicalize package) of the signed fields and the signature. */
function referenceHash(e: EventEnvelope): string | undefined {
  const covered: Record<string, unknown> = { signature: e.signature };
  for (const f of SIGNED_FIELDS) covered[f] = e[f];
  try {
    return hash("sha256", canonicalize(covered)!, "hex");
  } catch {
    return undefined;
  }
}
function ours(e: EventEnvelope): string | undefined {
  try {
    return eventHash(e);
  } catch {
    return undefined;
  }
}

// Text that looks like the key the hash splices the signature before, in places where it is not that key.
const unit = fc.constantFrom("a", ",", '"', ":", "signer", "signature", "\\", "\ud800", "é");
const text = fc.string({ unit, maxLength: 5 });
const json = fc.jsonValue({ maxDepth: 2 }).chain((v) => fc.constantFrom(v, { signer: v, signature: "x" }, [',"signer":', v]));
const field = fc.oneof(text, json, fc.constant(undefined));

describe("the event hash", () => {
  it("property: is SHA-256 of the canonical JSON of the signed fields and the signature, however odd the fields", () => {
    fc.assert(
      fc.property(
        fc.record({ id: field, type: field, subject: field, data: fc.oneof(json, fc.dictionary(text, json)), signer: field, time: field, schemaVersion: fc.oneof(fc.integer(), field), signature: field }),
        (e) => {
          expect(ours(e as unknown as EventEnvelope)).toBe(referenceHash(e as unknown as EventEnvelope));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("changes with the signature, so a re-signed event has another hash", () => {
    const e = { id: "i", type: "credits.earned", subject: "ec.credits.account.a", data: { signer: "x" }, signer: "k", time: "t", schemaVersion: 1, signature: "s1" };
    expect(eventHash(e)).toBe(referenceHash(e));
    expect(eventHash({ ...e, signature: "s2" })).not.toBe(eventHash(e));
  });
});
