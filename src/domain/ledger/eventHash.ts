import { hash } from "node:crypto";
import { canonicalJson, SIGNED_FIELDS, signingText } from "../events/canonical.js";
import type { EventEnvelope } from "../events/envelope.js";

/**
 * The hash of an event as stored: SHA-256 over RFC 8785 canonical JSON of its signed fields and
 * its signature. A record's own hash is this hash of its envelope, so a re-signed record (same
 * data, another signature) has another hash and breaks the link of the record after it.
 * Throws for an event that has no canonical form (a lone surrogate).
 */
export function eventHash(event: EventEnvelope): string {
  return eventHashOfSigned(event, signingText(event));
}

/**
 * eventHash() of an event whose signingText() is known already (a checker verifies the
 * signature over it too), without a second canonical form.
 *
 * Canonical JSON sorts keys, and "signature" sorts right before "signer", whose value and those
 * after it (subject, time, type) are strings: a string cannot hold an unescaped quote, so the
 * last `,"signer":` is the top-level key, and the hashed text is the signed text with the
 * signature spliced in there.
 */
export function eventHashOfSigned(event: EventEnvelope, signed: string): string {
  return hash("sha256", hashedText(event, signed), "hex");
}

const plainString = (v: unknown) => v === undefined || typeof v === "string";

function hashedText(e: EventEnvelope, signed: string): string {
  if (typeof e.signature === "string" && e.signature.isWellFormed() && typeof e.signer === "string" && plainString(e.subject) && plainString(e.time) && plainString(e.type)) {
    const at = signed.lastIndexOf(',"signer":');
    if (at > 0) return `${signed.slice(0, at)},"signature":${JSON.stringify(e.signature)}${signed.slice(at)}`;
  }
  // Not the shape of a signed event (fields that are objects may hold that text): written in full.
  const covered: Record<string, unknown> = { signature: e.signature };
  for (const field of SIGNED_FIELDS) covered[field] = e[field];
  return canonicalJson(covered);
}
