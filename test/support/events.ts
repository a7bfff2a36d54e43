import { randomUUID } from "node:crypto";
import { generatePrivateKeyPem, signerFromPrivateKeyPem, type Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";

export const newSigner = (): Ed25519Signer => signerFromPrivateKeyPem(generatePrivateKeyPem());

export function creditEarned(signer: Ed25519Signer, subject: string, amount: number, id = randomUUID()): EventEnvelope {
  return sealEvent(signer, {
    id,
    type: "credits.earned",
    subject,
    data: { amount, reason: "test" },
    time: new Date().toISOString(),
    schemaVersion: 1,
  });
}
