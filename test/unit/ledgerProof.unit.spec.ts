import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sealEvent, verifyEventSignature } from "../../src/adapters/crypto/eventSigning.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { fromHex, merkleLevels, rootOf, toHex } from "../../src/domain/ledger/merkle.js";
import {
  consistencyProofDocument,
  inclusionProofDocument,
  proofKindOf,
  verifyConsistencyProofDocument,
  verifyInclusionProofDocument,
  type InclusionProofDocument,
} from "../../src/domain/ledger/proof.js";
import { eventHash, GENESIS_HASH, recordOf } from "../../src/domain/ledger/record.js";
import { creditEarned, newSigner } from "../support/events.js";

const writer = newSigner();
const coordinator = newSigner();
const stranger = newSigner();
const trustedKeys = new Set([coordinator.publicKey]);
const check = (doc: unknown, keys?: ReadonlySet<string>) => verifyInclusionProofDocument(doc, { signatureOk: verifyEventSignature, ...(keys ? { trustedKeys: keys } : {}) });

/** The proof with one hex digit changed: the `flip`-th of all its digits, counted round. */
function withDigitFlipped(proof: readonly string[], flip: number): string[] {
  const at = flip % (proof.length * 64);
  const [element, digit] = [Math.floor(at / 64), at % 64];
  return proof.map((p, i) => (i === element ? p.slice(0, digit) + (p[digit] === "0" ? "1" : "0") + p.slice(digit + 1) : p));
}

/** A ledger of n credit events, chained and signed by the coordinator. */
function ledgerOf(n: number): { sources: EventEnvelope[]; records: EventEnvelope[] } {
  const sources = Array.from({ length: n }, (_, i) => creditEarned(writer, `ec.credits.account.acct-${i % 3}`, 1_000 + i));
  let prev = GENESIS_HASH;
  const records = sources.map((s, index) => {
    const record = sealEvent(coordinator, {
      id: crypto.randomUUID(),
      type: "ledger.recorded",
      subject: "ec.ledger.chain",
      data: recordOf(s, { stream: "EC_CREDITS", seq: index + 1 }, index, prev),
      time: "2026-11-23T12:00:00.000Z",
      schemaVersion: 1,
    });
    prev = eventHash(record);
    return record;
  });
  return { sources, records };
}

function checkpointOf(records: EventEnvelope[], size: number, signer = coordinator, override: Record<string, unknown> = {}): EventEnvelope {
  const leaves = records.map((r) => fromHex(eventHash(r)));
  return sealEvent(signer, {
    id: crypto.randomUUID(),
    type: "ledger.checkpointed",
    subject: "ec.ledger.checkpoints",
    data: { size, headHash: eventHash(records[size - 1]!), root: toHex(rootOf(leaves, size)), ...override },
    time: "2026-11-23T12:00:01.000Z",
    schemaVersion: 1,
  });
}

function proofFor(records: EventEnvelope[], sources: EventEnvelope[], index: number, checkpoint: EventEnvelope): InclusionProofDocument {
  const tree = merkleLevels(records.map((r) => fromHex(eventHash(r))));
  return inclusionProofDocument({ eventId: sources[index]!.id, record: records[index]!, index, checkpoint, tree });
}

describe("inclusion proofs of ledger records", () => {
  const { sources, records } = ledgerOf(7);
  const latest = checkpointOf(records, 7);
  const good = proofFor(records, sources, 3, latest);

  it("given a proof made from the ledger, when checked offline, then it holds for every record the checkpoint covers", () => {
    for (let i = 0; i < 7; i++) expect(check(JSON.parse(JSON.stringify(proofFor(records, sources, i, latest))), trustedKeys)).toMatchObject({ ok: true });
    const earlier = checkpointOf(records, 5);
    for (let i = 0; i < 5; i++) expect(check(proofFor(records, sources, i, earlier), trustedKeys)).toMatchObject({ ok: true, checkpoint: { size: 5 } });
    expect(good.proof).toHaveLength(3); // about log2(7)
  });

  it("refuses to make a proof against a checkpoint that does not cover the record yet", () => {
    expect(() => proofFor(records, sources, 5, checkpointOf(records, 5))).toThrow(/not covered/);
  });

  it("given a record changed after signing, then its signature is refused", () => {
    const changed = { ...good, record: { ...good.record, data: { ...good.record.data, eventTime: "2020-01-01T00:00:00.000Z" } } };
    expect(check(changed)).toEqual({ ok: false, reason: expect.stringMatching(/record's signature is invalid/) });
  });

  it("given a record re-signed by a key that is not trusted, then the signer is refused, unless no keys are given", () => {
    const resigned = { ...good, record: sealEvent(stranger, good.record) };
    const doc = { ...resigned, recordHash: eventHash(resigned.record) };
    expect(check(doc, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/record is signed by an unknown key/) });
    // Without trusted keys its hash is simply not in the tree.
    expect(check(doc)).toEqual({ ok: false, reason: expect.stringMatching(/does not lead from record 3/) });
  });

  it("given a checkpoint by an unknown key, a checkpoint with a changed root (re-signed), or a changed size (not re-signed), then it is refused", () => {
    expect(check({ ...good, checkpoint: checkpointOf(records, 7, stranger) }, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/checkpoint is signed by an unknown key/) });
    const wrongRoot = checkpointOf(records, 7, coordinator, { root: "ab".repeat(32) });
    expect(check({ ...good, checkpoint: wrongRoot }, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/does not lead .* root abab/) });
    const resized = { ...latest, data: { ...latest.data, size: 8 } };
    expect(check({ ...good, checkpoint: resized }, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/checkpoint's signature is invalid/) });
  });

  it("given a wrong hash, index or event id, then the document is refused", () => {
    expect(check({ ...good, recordHash: "00".repeat(32) })).toEqual({ ok: false, reason: expect.stringMatching(/recordHash 0+ is not the record's hash/) });
    expect(check({ ...good, index: 4 })).toEqual({ ok: false, reason: "the record is at index 3, not 4" });
    expect(check({ ...good, eventId: sources[4]!.id })).toEqual({ ok: false, reason: expect.stringMatching(/record is of event/) });
  });

  it("given a proof with an element changed, added or removed, then it does not lead to the root", () => {
    expect(check({ ...good, proof: [...good.proof, "11".repeat(32)] }).ok).toBe(false);
    expect(check({ ...good, proof: good.proof.slice(1) }).ok).toBe(false);
    expect(check({ ...good, proof: ["11".repeat(32), ...good.proof.slice(1)] }).ok).toBe(false);
  });

  it("given something that is not a proof document, then it says what is wrong", () => {
    expect(check({ ...good, proof: "nope" })).toEqual({ ok: false, reason: expect.stringMatching(/^malformed proof: proof: /) });
    expect(check(null)).toEqual({ ok: false, reason: expect.stringMatching(/^malformed proof: \(document\)/) });
    expect(check({ ...good, checkpoint: { ...good.record } })).toEqual({ ok: false, reason: "the checkpoint is not a ledger checkpoint" });
  });

  it("property: a proof holds for any record of any checkpoint, and no longer once any hex digit of its path changes", () => {
    const big = ledgerOf(24);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }))),
        fc.nat(),
        ([size, index], flip) => {
          const doc = proofFor(big.records, big.sources, index, checkpointOf(big.records, size));
          expect(check(doc, trustedKeys).ok).toBe(true);
          if (doc.proof.length === 0) return;
          expect(check({ ...doc, proof: withDigitFlipped(doc.proof, flip) }, trustedKeys).ok).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("consistency proofs between checkpoints", () => {
  const { records } = ledgerOf(13);
  const tree = merkleLevels(records.map((r) => fromHex(eventHash(r))));
  const consistent = (doc: unknown, keys?: ReadonlySet<string>) => verifyConsistencyProofDocument(doc, { signatureOk: verifyEventSignature, ...(keys ? { trustedKeys: keys } : {}) });
  const earlier = checkpointOf(records, 6);
  const later = checkpointOf(records, 13);
  const good = consistencyProofDocument({ from: earlier, to: later, tree });

  it("given two checkpoints of one ledger, when the proof is checked offline, then the later one extends the earlier", () => {
    expect(consistent(JSON.parse(JSON.stringify(good)), trustedKeys)).toMatchObject({ ok: true, from: { size: 6 }, to: { size: 13 } });
    expect(good.proof.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(13)));
    expect(proofKindOf(good)).toBe("consistency");
    expect(proofKindOf(proofFor(records, ledgerOf(13).sources, 0, later))).toBe("inclusion");
  });

  it("given a later checkpoint of a ledger whose early records were rewritten (and re-signed), then the proof is refused", () => {
    const other = ledgerOf(13);
    const rewritten = checkpointOf(other.records, 13);
    const otherTree = merkleLevels(other.records.map((r) => fromHex(eventHash(r))));
    // Each proof the writer of the rewritten ledger could make is refused against the auditor's earlier checkpoint.
    const forged = consistencyProofDocument({ from: checkpointOf(other.records, 6), to: rewritten, tree: otherTree });
    expect(consistent({ ...forged, from: earlier }, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/does not extend the tree of 6 records/) });
    expect(consistent({ ...good, to: rewritten }, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/does not extend/) });
  });

  it("given checkpoints swapped, signed by an unknown key, or changed after signing, then it says which and why", () => {
    expect(consistent({ ...good, from: later, to: earlier })).toEqual({ ok: false, reason: "the earlier checkpoint names 13 records, more than the later one (6)" });
    expect(consistent({ ...good, to: checkpointOf(records, 13, stranger) }, trustedKeys)).toEqual({ ok: false, reason: expect.stringMatching(/^the later checkpoint is signed by an unknown key/) });
    expect(consistent({ ...good, from: { ...earlier, data: { ...earlier.data, size: 5 } } })).toEqual({ ok: false, reason: expect.stringMatching(/^the earlier checkpoint's signature is invalid/) });
    expect(consistent({ ...good, proof: 7 })).toEqual({ ok: false, reason: expect.stringMatching(/^malformed proof: proof: /) });
  });

  it("property: for any two sizes m <= n a proof holds, and no longer once any hex digit of it changes", () => {
    const big = ledgerOf(20);
    const bigTree = merkleLevels(big.records.map((r) => fromHex(eventHash(r))));
    const points = Array.from({ length: 20 }, (_, i) => checkpointOf(big.records, i + 1));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n))),
        fc.nat(),
        ([m, n], flip) => {
          const doc = consistencyProofDocument({ from: points[m - 1]!, to: points[n - 1]!, tree: bigTree });
          expect(consistent(doc, trustedKeys).ok).toBe(true);
          if (doc.proof.length === 0) return;
          expect(consistent({ ...doc, proof: withDigitFlipped(doc.proof, flip) }, trustedKeys).ok).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});
