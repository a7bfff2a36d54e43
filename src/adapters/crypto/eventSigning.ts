import { createHash } from "node:crypto";
import { signingBytes } from "../../domain/events/canonical.js";
import type { EventEnvelope, UnsignedEvent } from "../../domain/events/envelope.js";
import { verifyEd25519, type Ed25519Signer } from "./ed25519.js";

export function sealEvent(signer: Ed25519Signer, event: Omit<UnsignedEvent, "signer">): EventEnvelope {
  const unsigned: UnsignedEvent = { ...event, signer: signer.publicKey };
  return { ...unsigned, signature: signer.sign(signingBytes(unsigned)) };
}

/** An event with no canonical form (a lone surrogate in a string) cannot carry a valid signature. */
export function verifyEventSignature(event: EventEnvelope): boolean {
  let bytes: Uint8Array;
  try {
    bytes = signingBytes(event);
  } catch {
    return false;
  }
  return verifyEd25519(event.signer, bytes, event.signature);
}

/**
 * Deterministic event ids: the same command retried produces the same ids, so the stream's
 * duplicate window drops a second copy instead of applying the command twice.
 * The digest is shaped as an RFC 9562 version 8 (custom) UUID.
 */
export function eventIdFor(commandId: string, index: number): string {
  const h = createHash("sha256").update(`${commandId}\u0000${index}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
