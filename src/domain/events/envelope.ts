import { z } from "zod";

/** Ed25519 public keys and signatures travel as unpadded base64url (the JWK `x` form). */
export const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be unpadded base64url");
export const PublicKey = Base64Url.length(43, "an Ed25519 public key is 32 bytes (43 base64url chars)");
export const Signature = Base64Url.length(86, "an Ed25519 signature is 64 bytes (86 base64url chars)");

const AGGREGATE_ID = "[A-Za-z0-9_-]{1,128}";

/** The last token of a subject: an account, task or subtask id. */
export const AggregateId = z.string().regex(new RegExp(`^${AGGREGATE_ID}$`), "1-128 chars of [A-Za-z0-9_-]");

const AGGREGATE_KIND = "[a-z][A-Za-z]*";

/**
 * Subjects read like paths: ec.<context>.<aggregate>.<id> (ec.tasks.subtask.<id>), or
 * ec.<context>.<aggregate> for an aggregate a context has one of (ec.ledger.chain). The
 * aggregate's kind is in the subject, so a consumer knows what a commit is about before it
 * parses it, and one context may hold several kinds of aggregate.
 */
export const EventSubject = z
  .string()
  .max(255)
  .regex(new RegExp(`^ec\\.[a-z]+\\.${AGGREGATE_KIND}(\\.${AGGREGATE_ID})?$`), "must look like ec.<context>.<aggregate>.<id>");

export interface SubjectParts {
  readonly context: string;
  readonly aggregate: string;
  /** Absent for an aggregate its context has one of. */
  readonly id?: string;
}

const SUBJECT = new RegExp(`^ec\\.([a-z]+)\\.(${AGGREGATE_KIND})(?:\\.(${AGGREGATE_ID}))?$`);

export function subjectOf(context: string, aggregate: string, id?: string): string {
  return id === undefined ? `ec.${context}.${aggregate}` : `ec.${context}.${aggregate}.${id}`;
}

/** A subject's context, aggregate kind and id; undefined for anything else (the old ec.<context>.<id> format among it). */
export function parseSubject(subject: string): SubjectParts | undefined {
  const m = SUBJECT.exec(subject);
  if (!m) return undefined;
  return { context: m[1]!, aggregate: m[2]!, ...(m[3] !== undefined ? { id: m[3] } : {}) };
}

/** The aggregate id of a subject: what follows ec.<context>.<aggregate>. */
export function aggregateIdOf(subject: string): string {
  const parts = parseSubject(subject);
  return parts?.id ?? parts?.aggregate ?? subject;
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
