import { z } from "zod";

/** Ed25519 public keys and signatures travel as unpadded base64url (the JWK `x` form). */
export const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be unpadded base64url");
export const PublicKey = Base64Url.length(43, "an Ed25519 public key is 32 bytes (43 base64url chars)");
export const Signature = Base64Url.length(86, "an Ed25519 signature is 64 bytes (86 base64url chars)");

const AGGREGATE_ID = "[A-Za-z0-9_-]{1,128}";

/** The last token of a subject: an account, task or subtask id. */
export const AggregateId = z.string().regex(new RegExp(`^${AGGREGATE_ID}$`), "1-128 chars of [A-Za-z0-9_-]");

/** Subjects read like paths: ec.<context>.<aggregateId>. */
export const EventSubject = z
  .string()
  .max(255)
  .regex(new RegExp(`^ec\\.[a-z]+\\.${AGGREGATE_ID}$`), "must look like ec.<context>.<aggregateId>");

/** The aggregate id of a subject: what follows ec.<context>. */
export function aggregateIdOf(subject: string): string {
  return subject.slice(subject.indexOf(".", 3) + 1);
}

export const EventType = z
  .string()
  .max(128)
  .regex(/^[a-z]+(\.[a-z][A-Za-z]*)+$/, "must look like <context>.<pastTenseVerb>");

/** Everything that is signed: the envelope without its signature. */
export const UnsignedEvent = z.object({
  id: z.uuid(),
  type: EventType,
  subject: EventSubject,
  data: z.record(z.string(), z.unknown()),
  signer: PublicKey,
  time: z.iso.datetime({ offset: false }),
  schemaVersion: z.number().int().min(1),
});
export type UnsignedEvent = z.infer<typeof UnsignedEvent>;

export const EventEnvelope = UnsignedEvent.extend({ signature: Signature });
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** An event as read back from a stream: the envelope plus where it sits. */
export interface StoredEvent {
  readonly stream: string;
  readonly seq: number;
  readonly envelope: EventEnvelope;
}

/** What a decider produces: the domain part of an event, before identity, time and signature. */
export interface EventDraft<T extends string = string, D extends Record<string, unknown> = Record<string, unknown>> {
  readonly type: T;
  readonly data: D;
}
