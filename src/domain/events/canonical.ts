import canonicalize from "canonicalize";
import type { UnsignedEvent } from "./envelope.js";

/**
 * The exact bytes an event signature covers: RFC 8785 (JCS) canonical JSON of the envelope
 * without its signature. Any extra field a relay might add is excluded, so only the listed
 * fields are signed and verified.
 */
const utf8 = new TextEncoder();

export function signingBytes(event: UnsignedEvent): Uint8Array {
  const { id, type, subject, data, signer, time, schemaVersion } = event;
  const text = canonicalize({ id, type, subject, data, signer, time, schemaVersion });
  if (text === undefined) throw new TypeError("event is not serializable as JSON");
  return utf8.encode(text);
}
