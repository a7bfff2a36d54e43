import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { generatePrivateKeyPem, signerFromPrivateKeyPem } from "../../src/adapters/crypto/ed25519.js";
import { sealEvent, verifyEventSignature } from "../../src/adapters/crypto/eventSigning.js";
import { portableVerifyEvent } from "../../src/adapters/crypto/portableEd25519.js";
import { signingPool } from "../../src/adapters/crypto/signingPool.js";
import { verificationPool } from "../../src/adapters/crypto/verificationPool.js";
import { workerPool } from "../../src/adapters/threads/workerPool.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";

const pem = generatePrivateKeyPem();
const signer = signerFromPrivateKeyPem(pem);
const sealer = signingPool(pem, 2);
const verifier = verificationPool(2);
afterAll(async () => {
  await sealer.close();
  await verifier.close();
});

const draft = (i: number) => ({
  id: randomUUID(),
  type: "credits.earned",
  subject: `ec.credits.account.acct-${i % 7}`,
  data: { amount: i + 1, reason: `work ${i}`, nested: { b: [1, "ü", { z: null }], a: i } },
  time: "2026-11-23T10:00:00.000Z",
  schemaVersion: 1,
});

describe("signing on worker threads", () => {
  it("produces the signatures the node:crypto and @noble/curves verifiers accept, for many events at once", async () => {
    const sealed = await Promise.all(Array.from({ length: 300 }, (_, i) => sealer.seal(draft(i))));
    expect(sealed.every((e) => e.signer === signer.publicKey)).toBe(true);
    expect(sealed.every(verifyEventSignature)).toBe(true);
    expect(sealed.slice(0, 20).every(portableVerifyEvent)).toBe(true);
    // Same canonical bytes as the inline signer: Ed25519 is deterministic, so the signatures match.
    const inline = sealEvent(signer, draft(3));
    const pooled = await sealer.seal({ ...draft(3), id: inline.id });
    expect(pooled.signature).toBe(inline.signature);
  });
});

describe("verification on worker threads", () => {
  it("agrees with the inline verifier on valid, tampered, forged and malformed events, in order", async () => {
    const good = Array.from({ length: 600 }, (_, i) => sealEvent(signer, draft(i)));
    const other = signerFromPrivateKeyPem(generatePrivateKeyPem());
    const mixed: EventEnvelope[] = good.map((e, i) => {
      switch (i % 5) {
        case 1:
          return { ...e, data: { ...e.data, amount: 999 } };
        case 2:
          return { ...e, signer: other.publicKey };
        case 3:
          return { ...e, signature: "A".repeat(86) };
        case 4:
          return { ...e, signature: "not-base64url!" };
        default:
          return e;
      }
    });
    const pooled = await verifier.verifyAll(mixed);
    expect(pooled).toEqual(mixed.map(verifyEventSignature));
    expect(pooled.filter(Boolean)).toHaveLength(120);
  });

  it("answers an empty batch without a round trip and refuses work after close", async () => {
    expect(await verifier.verifyAll([])).toEqual([]);
    const closing = verificationPool(1);
    await closing.close();
    await expect(closing.verifyAll([sealEvent(signer, draft(1))])).rejects.toThrow(/closed/);
  });
});

describe("a pool whose thread cannot start", () => {
  it("refuses its batches with the reason instead of leaving them waiting", async () => {
    const pool = workerPool<(items: number[]) => number[]>(new URL("./noSuchThread.js", import.meta.url), undefined, 1);
    await expect(pool.run([1])).rejects.toThrow(/noSuchThread/);
    await expect(pool.run([2])).rejects.toThrow(/noSuchThread/);
    await pool.close();
  });
});
