import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generatePrivateKeyPem, privateSeedOf, signerFromPrivateKeyPem } from "../../src/adapters/crypto/ed25519.js";
import { eventIdFor, sealEvent, verifyEventSignature } from "../../src/adapters/crypto/eventSigning.js";
import { portableSealEvent, portableSigner, portableVerifyEvent } from "../../src/adapters/crypto/portableEd25519.js";
import { signingBytes } from "../../src/domain/events/canonical.js";
import { EventEnvelope, type UnsignedEvent } from "../../src/domain/events/envelope.js";

const pem = generatePrivateKeyPem();
const nodeSigner = signerFromPrivateKeyPem(pem);
const seed = privateSeedOf(pem);
const otherSigner = signerFromPrivateKeyPem(generatePrivateKeyPem());

type Draft = Omit<UnsignedEvent, "signer">;
const draft: Draft = {
  id: "0b5e1d2c-3f4a-8b6c-9d7e-1f2a3b4c5d6e",
  type: "credits.earned",
  subject: "ec.credits.account.alice",
  data: { amount: 1_000, reason: "subtask", ref: "st-1" },
  time: "2026-11-23T10:00:00.000Z",
  schemaVersion: 1,
};

const bothVerify = (e: EventEnvelope) => [verifyEventSignature(e), portableVerifyEvent(e)];
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("event signatures: node:crypto and @noble/curves interoperate", () => {
  it("both sides derive the same public key from one private key", () => {
    expect(portableSigner(seed).publicKey).toBe(nodeSigner.publicKey);
    expect(nodeSigner.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("an event sealed with node:crypto verifies with noble, and on the node side", () => {
    const sealed = sealEvent(nodeSigner, draft);
    expect(sealed.signer).toBe(nodeSigner.publicKey);
    expect(bothVerify(sealed)).toEqual([true, true]);
  });

  it("an event sealed with noble verifies with node:crypto, and on the noble side", () => {
    const sealed = portableSealEvent(seed, draft);
    expect(sealed.signer).toBe(nodeSigner.publicKey);
    expect(bothVerify(sealed)).toEqual([true, true]);
  });

  it("Ed25519 is deterministic: both sides produce the very same envelope", () => {
    expect(portableSealEvent(seed, draft)).toEqual(sealEvent(nodeSigner, draft));
  });

  it("a sealed envelope passes the envelope schema", () => {
    expect(EventEnvelope.safeParse(sealEvent(nodeSigner, draft)).success).toBe(true);
  });

  describe("changing any signed field breaks verification on both sides", () => {
    const sealed = sealEvent(nodeSigner, draft);
    it.each<[string, Partial<EventEnvelope>]>([
      ["data (a value)", { data: { ...draft.data, amount: 1_001 } }],
      ["data (an added key)", { data: { ...draft.data, bonus: 1 } }],
      ["data (a removed key)", { data: { amount: 1_000, reason: "subtask" } }],
      ["type", { type: "credits.spent" }],
      ["subject", { subject: "ec.credits.account.mallory" }],
      ["time", { time: "2026-11-23T10:00:00.001Z" }],
      ["id", { id: "0b5e1d2c-3f4a-8b6c-9d7e-1f2a3b4c5d6f" }],
      ["schemaVersion", { schemaVersion: 2 }],
      ["signer", { signer: otherSigner.publicKey }],
    ])("%s", (_field, change) => {
      expect(bothVerify(sealed)).toEqual([true, true]);
      expect(bothVerify({ ...sealed, ...change })).toEqual([false, false]);
    });

    it("signature (one byte flipped)", () => {
      const bytes = Buffer.from(sealed.signature, "base64url");
      bytes[10] = bytes[10]! ^ 0x01;
      expect(bothVerify({ ...sealed, signature: bytes.toString("base64url") })).toEqual([false, false]);
    });

    it("a signature by another key over the same event", () => {
      const forged = { ...sealEvent(otherSigner, draft), signer: nodeSigner.publicKey };
      expect(bothVerify(forged)).toEqual([false, false]);
    });
  });

  it("malformed signatures and keys are refused, not thrown", () => {
    const sealed = sealEvent(nodeSigner, draft);
    expect(bothVerify({ ...sealed, signature: sealed.signature.slice(0, 80) })).toEqual([false, false]);
    expect(bothVerify({ ...sealed, signature: "not base64url!" })).toEqual([false, false]);
    expect(bothVerify({ ...sealed, signer: "short" })).toEqual([false, false]);
  });
});

describe("signing bytes: RFC 8785 canonical JSON of the signed fields", () => {
  it("are the canonical JSON of the envelope without its signature: keys sorted, no whitespace", () => {
    const sealed = sealEvent(nodeSigner, draft);
    expect(text(signingBytes(sealed))).toBe(
      `{"data":{"amount":1000,"reason":"subtask","ref":"st-1"},"id":"${draft.id}","schemaVersion":1,` +
        `"signer":"${nodeSigner.publicKey}","subject":"ec.credits.account.alice","time":"2026-11-23T10:00:00.000Z","type":"credits.earned"}`,
    );
  });

  it("do not depend on the insertion order of data keys, at any depth", () => {
    const a: Draft = { ...draft, data: { amount: 1, reason: "r", nested: { x: 1, y: [{ p: 1, q: 2 }] } } };
    const b: Draft = { ...draft, data: { nested: { y: [{ q: 2, p: 1 }], x: 1 }, reason: "r", amount: 1 } };
    expect(JSON.stringify(a.data)).not.toBe(JSON.stringify(b.data));
    const sealedA = sealEvent(nodeSigner, a);
    expect(signingBytes(sealedA)).toEqual(signingBytes({ ...sealedA, data: b.data }));
    expect(bothVerify({ ...sealedA, data: b.data })).toEqual([true, true]);
    expect(sealEvent(nodeSigner, b).signature).toBe(sealedA.signature);
  });

  it("do not depend on the order of the envelope's own keys", () => {
    const sealed = sealEvent(nodeSigner, draft);
    const reordered = Object.fromEntries(Object.entries(sealed).reverse()) as EventEnvelope;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(sealed));
    expect(bothVerify(reordered)).toEqual([true, true]);
  });

  it("ignore fields outside the signed set, so a relay's additions do not break a signature", () => {
    const sealed = sealEvent(nodeSigner, draft);
    const relayed = { ...sealed, relayedBy: "edge-7", receivedAt: "2026-11-23T10:00:01Z" };
    expect(signingBytes(relayed)).toEqual(signingBytes(sealed));
    expect(bothVerify(relayed)).toEqual([true, true]);
  });

  it("change with every signed field", () => {
    const base = text(signingBytes({ ...draft, signer: nodeSigner.publicKey }));
    for (const change of [{ type: "credits.spent" }, { subject: "ec.credits.account.bob" }, { data: {} }, { schemaVersion: 3 }]) {
      expect(text(signingBytes({ ...draft, signer: nodeSigner.publicKey, ...change }))).not.toBe(base);
    }
  });
});

describe("deterministic event ids", () => {
  const uuidV8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("are the same for the same command and index", () => {
    expect(eventIdFor("cmd-1", 0)).toBe(eventIdFor("cmd-1", 0));
  });

  it("differ per index and per command", () => {
    const ids = new Set([eventIdFor("cmd-1", 0), eventIdFor("cmd-1", 1), eventIdFor("cmd-2", 0), eventIdFor("cmd-2", 1)]);
    expect(ids.size).toBe(4);
  });

  it("do not collide when the command id itself ends like an index", () => {
    expect(eventIdFor("cmd\u00001", 0)).not.toBe(eventIdFor("cmd", 1));
    expect(eventIdFor("cmd1", 0)).not.toBe(eventIdFor("cmd", 10));
  });

  it("are version 8 RFC 9562 UUIDs the envelope schema accepts", () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), (commandId, index) => {
        const id = eventIdFor(commandId, index);
        expect(id).toMatch(uuidV8);
        expect(EventEnvelope.safeParse(sealEvent(nodeSigner, { ...draft, id })).success).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("seal then verify, for arbitrary JSON data", () => {
  // Data as it comes back from storage: a JSON round trip also turns -0 into 0 and drops
  // undefined, which JSON cannot carry.
  const jsonData = fc
    .dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 })
    .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);
  const stored = (e: EventEnvelope) => JSON.parse(JSON.stringify(e)) as EventEnvelope;

  it("verifies on both sides after storage, whichever side sealed it", () => {
    fc.assert(
      fc.property(jsonData, (data) => {
        const byNode = sealEvent(nodeSigner, { ...draft, data });
        const byNoble = portableSealEvent(seed, { ...draft, data });
        expect(byNoble.signature).toBe(byNode.signature);
        expect(bothVerify(stored(byNode))).toEqual([true, true]);
        expect(bothVerify(stored(byNoble))).toEqual([true, true]);
      }),
      { numRuns: 200 },
    );
  });

  it("fails on both sides once the data changes", () => {
    fc.assert(
      fc.property(jsonData, fc.string(), (data, extra) => {
        const sealed = sealEvent(nodeSigner, { ...draft, data });
        fc.pre(!Object.hasOwn(data, "\u0000tamper"));
        const tampered = { ...sealed, data: { ...data, "\u0000tamper": extra } };
        expect(bothVerify(tampered)).toEqual([false, false]);
      }),
      { numRuns: 100 },
    );
  });
});
