import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { foldCommit } from "../../src/domain/decider.js";
import { policyDocumentHash, policyDocumentText, type CustodianSignature, type CustodyPolicy } from "../../src/domain/economy/custody.js";
import { custodyPolicyDecider, keyRotationDueAt, policySubject, type PolicyLine } from "../../src/domain/economy/policy.js";
import type { PolicyEvent } from "../../src/domain/economy/policyEvents.js";
import { given } from "../support/decider.js";

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
/** A custodian with a fixed key, so the documents and their hashes are the same on every run. */
function custodian(n: number) {
  const secret = new Uint8Array(32).fill(n);
  const publicKey = b64u(ed25519.getPublicKey(secret));
  return { publicKey, sign: (text: string): CustodianSignature => ({ custodian: publicKey, signature: b64u(ed25519.sign(new TextEncoder().encode(text), secret)) }) };
}
const [K1, K2, K3, K4] = [1, 2, 3, 4].map(custodian) as [ReturnType<typeof custodian>, ReturnType<typeof custodian>, ReturnType<typeof custodian>, ReturnType<typeof custodian>];
const COORDINATOR = "coordinator".padEnd(43, "A");
const day = (d: number) => new Date(Date.UTC(2026, 11, d));

const ID = "main";
const sorted = (keys: string[]) => [...keys].sort();
const v1: CustodyPolicy = { quorumThreshold: 2, custodians: sorted([K1.publicKey, K2.publicKey, K3.publicKey]), approvedCoordinators: [COORDINATOR], keyRotationDays: 90 };
const v2: CustodyPolicy = { ...v1, custodians: sorted([K1.publicKey, K2.publicKey, K4.publicKey]) };
const doc = (version: number, policy: CustodyPolicy, policyId = ID) => policyDocumentText(policyId, version, policy);

const proposed = (version: number, policy: CustodyPolicy, at = day(1)): PolicyEvent => ({
  type: "policy.proposed",
  data: { policyId: ID, version, policy, documentHash: policyDocumentHash(ID, version, policy), proposedAt: at.toISOString() },
});
const activated = (version: number, policy: CustodyPolicy, signatures: CustodianSignature[], at = day(2)): PolicyEvent => ({
  type: "policy.activated",
  data: { version, documentHash: policyDocumentHash(ID, version, policy), signatures, activatedAt: at.toISOString() },
});
const genesis = [proposed(1, v1), activated(1, v1, [K1, K2, K3].map((k) => k.sign(doc(1, v1))))];
const changing = [...genesis, proposed(2, v2, day(10))];
const activate = (signatures: CustodianSignature[], now = day(11)) => ({ kind: "activate" as const, signatures, now });
const line = (events: readonly PolicyEvent[] = []) => given(custodyPolicyDecider, events);

describe("a treasury's custody policies", () => {
  it("lives at ec.economy.policy.<policyId>", () => {
    expect(policySubject(ID)).toBe("ec.economy.policy.main");
  });

  it("proposes the first policy as version 1, its lists in one order so the same policy is always the same document", () => {
    const shuffled = { ...v1, custodians: [...v1.custodians].reverse() };
    line().when({ kind: "propose", policyId: ID, policy: shuffled, now: day(1) }).then([proposed(1, v1)]);
  });

  it("activates the first policy only when every custodian it names signed it (genesis)", () => {
    line([proposed(1, v1)]).when(activate([K1, K2, K3].map((k) => k.sign(doc(1, v1))), day(2))).then([genesis[1]!]);
    line([proposed(1, v1)]).when(activate([K1, K2].map((k) => k.sign(doc(1, v1))))).thenThrows("too_few_signatures");
  });

  it("takes a change into force with a quorum of the custodians in force, even when the change replaces them", () => {
    line(changing).when(activate([K1, K3].map((k) => k.sign(doc(2, v2))))).then([activated(2, v2, [K1, K3].map((k) => k.sign(doc(2, v2))), day(11))]);
    line(changing)
      .when(activate([K2, K3].map((k) => k.sign(doc(2, v2)))))
      .thenState({ policyId: ID, active: { version: 2, policy: v2, documentHash: policyDocumentHash(ID, 2, v2), activatedAt: day(11).toISOString() } } satisfies PolicyLine);
  });

  it("refuses too few signatures", () => {
    line(changing).when(activate([K1.sign(doc(2, v2))])).thenThrows("too_few_signatures");
  });

  it("refuses a signature by someone who is not a custodian in force, even one the change would make a custodian", () => {
    line(changing).when(activate([K1.sign(doc(2, v2)), K4.sign(doc(2, v2))])).thenThrows("not_custodian");
  });

  it("refuses a replayed signature: the same custodian twice", () => {
    const once = K1.sign(doc(2, v2));
    line(changing).when(activate([once, once])).thenThrows("duplicate_signature");
  });

  it("refuses a replayed signature: one over another version, or another policy line, of the same content", () => {
    const sameContent = [...genesis, proposed(2, v1, day(10))];
    line(sameContent).when(activate([K1, K2].map((k) => k.sign(doc(1, v1))))).thenThrows("bad_signature");
    line(changing).when(activate([K1, K2].map((k) => k.sign(doc(2, v2, "other"))))).thenThrows("bad_signature");
  });

  it("refuses signatures gathered for a proposal that a newer one replaced", () => {
    const v2b = { ...v2, keyRotationDays: 30 };
    line([...changing, proposed(2, v2b, day(10))]).when(activate([K1, K2].map((k) => k.sign(doc(2, v2))))).thenThrows("bad_signature");
  });

  it("refuses a bad signature: altered, or not a signature at all", () => {
    const good = K1.sign(doc(2, v2));
    const bytes = Buffer.from(good.signature, "base64url");
    bytes[10] = bytes[10]! ^ 1;
    line(changing).when(activate([{ custodian: K1.publicKey, signature: bytes.toString("base64url") }, K2.sign(doc(2, v2))])).thenThrows("bad_signature");
    line(changing).when(activate([{ custodian: K1.publicKey, signature: "A".repeat(86) }, K2.sign(doc(2, v2))])).thenThrows("bad_signature");
    line(changing).when(activate([{ custodian: K1.publicKey, signature: "_".repeat(86) }, K2.sign(doc(2, v2))])).thenThrows("bad_signature");
  });

  it("refuses activation with nothing proposed, and a proposal of another policy line", () => {
    line(genesis).when(activate([K1, K2].map((k) => k.sign(doc(2, v1))))).thenThrows("no_pending_policy");
    line(genesis).when({ kind: "propose", policyId: "other", policy: v2, now: day(3) }).thenThrows("wrong_policy");
  });

  it("refuses a policy whose threshold its custodians cannot meet, or that lists a key twice", () => {
    line().when({ kind: "propose", policyId: ID, policy: { ...v1, quorumThreshold: 4 }, now: day(1) }).thenThrows("invalid_policy");
    line().when({ kind: "propose", policyId: ID, policy: { ...v1, custodians: [K1.publicKey, K1.publicKey] }, now: day(1) }).thenThrows("invalid_policy");
  });

  it("never applies a stored activation whose signatures do not hold", () => {
    const forged = activated(2, v2, [K1.sign(doc(2, v2)), { custodian: K2.publicKey, signature: K1.sign(doc(2, v2)).signature }]);
    expect(foldCommit(custodyPolicyDecider, custodyPolicyDecider.initialState(), [...changing, forged])).toMatchObject({ ok: false, index: 3, code: "bad_signature" });
  });

  it("says when the custodians in force are due to rotate their keys", () => {
    const state = genesis.reduce(custodyPolicyDecider.evolve, custodyPolicyDecider.initialState());
    expect(keyRotationDueAt(state)?.toISOString()).toBe(new Date(day(2).getTime() + 90 * 86_400_000).toISOString());
    expect(keyRotationDueAt(custodyPolicyDecider.initialState())).toBeUndefined();
  });
});
