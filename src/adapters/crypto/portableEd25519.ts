import { ed25519 } from "@noble/curves/ed25519.js";
import { signingBytes } from "../../domain/events/canonical.js";
import type { EventEnvelope, UnsignedEvent } from "../../domain/events/envelope.js";

/**
 * The same event signatures with @noble/curves, for code that runs where node:crypto does not
 * (browsers, devices). Keys and signatures use the same base64url encoding as the server side.
 */
// btoa/atob exist in browsers and Node alike; Buffer does not.
const toB64u = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64u = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

export function portableSigner(seedB64u: string) {
  const seed = fromB64u(seedB64u);
  const publicKey = toB64u(ed25519.getPublicKey(seed));
  return { publicKey, sign: (message: Uint8Array) => toB64u(ed25519.sign(message, seed)) };
}

export function portableSealEvent(seedB64u: string, event: Omit<UnsignedEvent, "signer">): EventEnvelope {
  const signer = portableSigner(seedB64u);
  const unsigned: UnsignedEvent = { ...event, signer: signer.publicKey };
  return { ...unsigned, signature: signer.sign(signingBytes(unsigned)) };
}

export function portableVerifyEvent(event: EventEnvelope): boolean {
  try {
    return ed25519.verify(fromB64u(event.signature), signingBytes(event), fromB64u(event.signer));
  } catch {
    return false;
  }
}
