import type { EventEnvelope } from "../../domain/events/envelope.js";
import type { EventRegistry } from "../../domain/events/registry.js";
import { inlineVerifier, type SignatureVerifier } from "../crypto/verificationPool.js";
import type { EventStore, RawCommit } from "../nats/eventStore.js";
import { checkCommit, type CommitCheck } from "./commitCheck.js";

/**
 * Admission of many commits at once, in their order: shape and schema on this thread, then the
 * signatures of every commit not marked known-good checked together by `verifier`.
 */
export async function admitAll(
  raws: readonly RawCommit[],
  registry: EventRegistry,
  verifier: SignatureVerifier = inlineVerifier,
  knownGood: (index: number) => boolean = () => false,
): Promise<CommitCheck[]> {
  const checks = raws.map((raw) => checkCommit(raw, registry, { signaturesKnownGood: true }));
  const pending = checks.map((c, i) => (c.ok && !knownGood(i) ? c.events : []));
  const validity = await verifier.verifyAll(pending.flat());
  let v = 0;
  return checks.map((check, i) => {
    const events: readonly EventEnvelope[] = pending[i]!;
    if (!check.ok || events.length === 0) return check;
    const bad = validity.slice(v, (v += events.length)).indexOf(false);
    if (bad < 0) return check;
    return { ok: false, reason: `bad signature by ${events[bad]!.signer}`, eventId: events[bad]!.id };
  });
}

/** An aggregate's admitted events, oldest first: its history read from the stream, with what admission refuses left out. */
export async function readAdmitted(store: Pick<EventStore, "readAggregate">, subject: string, registry: EventRegistry, verifier?: SignatureVerifier): Promise<EventEnvelope[]> {
  const { commits } = await store.readAggregate(subject);
  return (await admitAll(commits, registry, verifier)).flatMap((c) => (c.ok ? [...c.events] : []));
}
