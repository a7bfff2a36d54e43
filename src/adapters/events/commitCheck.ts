import type { EventEnvelope } from "../../domain/events/envelope.js";
import { checkEventSchema, type EventRegistry } from "../../domain/events/registry.js";
import { verifyEventSignature } from "../crypto/eventSigning.js";
import type { RawCommit } from "../nats/eventStore.js";

export type CommitCheck =
  | { ok: true; events: EventEnvelope[] }
  | { ok: false; reason: string; eventId?: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface CheckOptions {
  /** Skip the Ed25519 check: the caller has proof that these exact bytes were verified before. */
  readonly signaturesKnownGood?: boolean;
}

/**
 * Admission of one stored commit: valid JSON, an array of envelopes of known types whose data
 * matches their schema, each stored under its own subject, each signature valid. A commit is
 * admitted or refused whole, since its events are one decision.
 */
export function checkCommit(raw: RawCommit, registry: EventRegistry, opts: CheckOptions = {}): CommitCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(raw.data));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return { ok: false, reason: "not a non-empty array of events" };
  const events: EventEnvelope[] = [];
  for (const candidate of parsed) {
    const schema = checkEventSchema(registry, candidate);
    const eventId = typeof (candidate as { id?: unknown })?.id === "string" ? (candidate as { id: string }).id : undefined;
    if (!schema.ok) return { ok: false, reason: schema.reason, ...(eventId ? { eventId } : {}) };
    const e = schema.envelope;
    if (e.subject !== raw.subject) {
      return { ok: false, reason: `event is for ${e.subject} but stored under ${raw.subject}`, eventId: e.id };
    }
    if (!opts.signaturesKnownGood && !verifyEventSignature(e)) {
      return { ok: false, reason: `bad signature by ${e.signer}`, eventId: e.id };
    }
    events.push(e);
  }
  return { ok: true, events };
}
