import canonicalize from "canonicalize";
import type { UnsignedEvent } from "./envelope.js";

/**
 * The exact bytes an event signature covers: RFC 8785 (JCS) canonical JSON of the envelope
 * without its signature. Any extra field a relay might add is excluded, so only the listed
 * fields are signed and verified.
 */
const utf8 = new TextEncoder();

/** The envelope fields a signature covers, in one place for every thread that signs. */
export const SIGNED_FIELDS = ["id", "type", "subject", "data", "signer", "time", "schemaVersion"] as const satisfies readonly (keyof UnsignedEvent)[];

export function signingText(event: UnsignedEvent): string {
  const covered: Record<string, unknown> = {};
  for (const field of SIGNED_FIELDS) covered[field] = event[field];
  const text = canonicalize(covered);
  if (text === undefined) throw new TypeError("event is not serializable as JSON");
  return text;
}

export function signingBytes(event: UnsignedEvent): Uint8Array {
  return utf8.encode(signingText(event));
}
