import { bookCommit, closeBooks, openBooks, type BooksBalance } from "../../domain/credits/books.js";
import { creditsContext } from "../../domain/credits/context.js";
import type { CreditEvent } from "../../domain/credits/events.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { admitAll } from "../events/admission.js";
import { checkCommit } from "../events/commitCheck.js";
import type { RawCommit } from "../nats/eventStore.js";
import type { AuditSource } from "./ledgerLocation.js";

const BATCH = 500;

/**
 * The credit books from the credits stream alone (src/domain/credits/books.ts): every admitted
 * commit, in stream order, up to the stream's end when the audit began. A commit admission
 * refuses (a bad signature, a schema) moves no balance, as it moved none when it was written.
 */
export async function auditCreditBooks(opts: {
  store: Pick<AuditSource, "read" | "lastSeq">;
  verifier?: SignatureVerifier;
  stream?: string;
  /**
   * What the audit's own pass found of an event's signature (its source index): true, false, or
   * undefined when it did not read that event. Known verdicts are not checked a second time.
   */
  knownSignature?: (eventId: string) => boolean | undefined;
}): Promise<BooksBalance> {
  const stream = opts.stream ?? creditsContext.stream;
  const registry = eventRegistry(...creditsContext.events);
  const books = openBooks();
  const upTo = await opts.store.lastSeq(stream);
  if (upTo === 0) return closeBooks(books);
  let batch: RawCommit[] = [];
  const known = opts.knownSignature;
  const take = async () => {
    // A commit whose every event the audit already verified is admitted on its shape alone; one
    // it found forged is not admitted; the rest are verified here.
    const shapes = known ? batch.map((raw) => checkCommit(raw, registry, { signaturesKnownGood: true })) : [];
    const verdicts = shapes.map((c) => (c.ok ? c.events.map((e) => known!(e.id)) : []));
    const checks = await admitAll(batch, registry, opts.verifier, (i) => verdicts[i]!.length > 0 && verdicts[i]!.every((v) => v === true));
    for (const [i, v] of verdicts.entries()) if (v.some((x) => x === false)) checks[i] = { ok: false, reason: "a signature the audit found bad" };
    checks.forEach((check, i) => {
      if (!check.ok) return;
      const raw = batch[i]!;
      bookCommit(books, aggregateIdOf(raw.subject), { seq: raw.seq, events: check.events as unknown as (CreditEvent & { id: string })[] });
    });
    batch = [];
  };
  for await (const commit of opts.store.read(stream, { toSeq: upTo })) {
    batch.push(commit);
    if (batch.length >= BATCH) await take();
    if (books.issue) break;
  }
  if (batch.length && !books.issue) await take();
  return closeBooks(books);
}
