import { z } from "zod";
import { EventEnvelope } from "../events/envelope.js";
import { consistencyProof, fromHex, inclusionProof, toHex, verifyConsistency, verifyInclusion, type MerkleTreeSource } from "./merkle.js";
import { Checkpoint, eventHash, Hash, LedgerRecord } from "./record.js";

/**
 * What proves one source event is in the ledger, checkable offline with nothing but public keys:
 * its signed ledger record, that record's hash and index, the signed checkpoint it is proven
 * against, and the audit path (RFC 9162 2.1.3) from the record up to the checkpoint's root.
 * The tree size is the checkpoint's own, never a separate field: a proof does not bind the size.
 */
export const InclusionProofDocument = z.object({
  eventId: z.string().min(1).max(128),
  record: EventEnvelope,
  recordHash: Hash,
  index: z.number().int().min(0),
  checkpoint: EventEnvelope,
  proof: z.array(Hash).max(64),
});
export type InclusionProofDocument = z.infer<typeof InclusionProofDocument>;

/** The proof for the record at `index` of `tree` against `checkpoint` (which names at least index + 1 records). */
export function inclusionProofDocument(args: {
  eventId: string;
  record: EventEnvelope;
  index: number;
  checkpoint: EventEnvelope;
  tree: MerkleTreeSource;
}): InclusionProofDocument {
  const { size } = Checkpoint.parse(args.checkpoint.data);
  if (args.index >= size) throw new RangeError(`record ${args.index} is not covered by the checkpoint of ${size} records yet`);
  return {
    eventId: args.eventId,
    record: args.record,
    recordHash: eventHash(args.record),
    index: args.index,
    checkpoint: args.checkpoint,
    proof: inclusionProof(args.tree, args.index, size).map(toHex),
  };
}

export interface SignatureCheck {
  readonly signatureOk: (event: EventEnvelope) => boolean;
  readonly trustedKeys?: ReadonlySet<string>;
}

const malformed = (error: z.ZodError) => {
  const first = error.issues[0];
  return `malformed proof: ${first ? `${first.path.join(".") || "(document)"}: ${first.message}` : "invalid"}`;
};

/** A validly signed `ledger.checkpointed` (by a trusted key when keys are given), or why not. */
function signedCheckpoint(envelope: EventEnvelope, what: string, opts: SignatureCheck): { ok: true; data: Checkpoint } | { ok: false; reason: string } {
  const checkpoint = Checkpoint.safeParse(envelope.data);
  if (envelope.type !== "ledger.checkpointed" || !checkpoint.success) return { ok: false, reason: `${what} is not a ledger checkpoint` };
  if (!opts.signatureOk(envelope)) return { ok: false, reason: `${what}'s signature is invalid (signer ${envelope.signer})` };
  if (opts.trustedKeys && !opts.trustedKeys.has(envelope.signer)) return { ok: false, reason: `${what} is signed by an unknown key ${envelope.signer}` };
  return { ok: true, data: checkpoint.data };
}

export type ProofVerdict =
  | { readonly ok: true; readonly proof: InclusionProofDocument; readonly checkpoint: Checkpoint; readonly record: LedgerRecord }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks a proof document: the checkpoint is a validly signed `ledger.checkpointed` (by a trusted
 * key when keys are given), the record a validly signed `ledger.recorded` (likewise) of that event
 * at that index, recordHash its hash, and the audit path leads from it to the checkpoint's root in
 * a tree of the checkpoint's size. Signatures are checked by `signatureOk` (node:crypto or noble).
 */
export function verifyInclusionProofDocument(
  document: unknown,
  opts: SignatureCheck,
): ProofVerdict {
  const fail = (reason: string): ProofVerdict => ({ ok: false, reason });
  const parsed = InclusionProofDocument.safeParse(document);
  if (!parsed.success) return fail(malformed(parsed.error));
  const doc = parsed.data;
  const trusted = (key: string) => !opts.trustedKeys || opts.trustedKeys.has(key);

  const checkpoint = signedCheckpoint(doc.checkpoint, "the checkpoint", opts);
  if (!checkpoint.ok) return fail(checkpoint.reason);

  const record = LedgerRecord.safeParse(doc.record.data);
  if (doc.record.type !== "ledger.recorded" || !record.success) return fail("the record is not a ledger record");
  if (!opts.signatureOk(doc.record)) return fail(`the record's signature is invalid (signer ${doc.record.signer})`);
  if (!trusted(doc.record.signer)) return fail(`the record is signed by an unknown key ${doc.record.signer}`);
  if (record.data.source.eventId !== doc.eventId) return fail(`the record is of event ${record.data.source.eventId}, not ${doc.eventId}`);
  if (record.data.index !== doc.index) return fail(`the record is at index ${record.data.index}, not ${doc.index}`);
  const hash = eventHash(doc.record);
  if (hash !== doc.recordHash) return fail(`recordHash ${doc.recordHash} is not the record's hash (${hash})`);

  const { size, root } = checkpoint.data;
  if (doc.index >= size) return fail(`record ${doc.index} is not covered by the checkpoint of ${size} records`);
  if (!verifyInclusion(fromHex(hash), doc.index, size, doc.proof.map(fromHex), fromHex(root))) {
    return fail(`the audit path does not lead from record ${doc.index} to the checkpoint's root ${root} (size ${size})`);
  }
  return { ok: true, proof: doc, checkpoint: checkpoint.data, record: record.data };
}

/**
 * What proves a later checkpoint extends an earlier one (RFC 9162 2.1.4): both signed
 * checkpoints and the consistency proof between their trees. An auditor who kept the earlier
 * checkpoint learns that no record it covered was changed, dropped or reordered since, without
 * reading the ledger again.
 */
export const ConsistencyProofDocument = z.object({
  from: EventEnvelope,
  to: EventEnvelope,
  proof: z.array(Hash).max(128),
});
export type ConsistencyProofDocument = z.infer<typeof ConsistencyProofDocument>;

/** The proof that `to` extends `from`, from the leaves of a tree at least as large as `to` names. */
export function consistencyProofDocument(args: { from: EventEnvelope; to: EventEnvelope; tree: MerkleTreeSource }): ConsistencyProofDocument {
  const m = Checkpoint.parse(args.from.data).size;
  const n = Checkpoint.parse(args.to.data).size;
  if (m > n) throw new RangeError(`the checkpoint of ${m} records cannot extend to one of ${n}`);
  return { from: args.from, to: args.to, proof: consistencyProof(args.tree, m, n).map(toHex) };
}

export type ConsistencyVerdict =
  | { readonly ok: true; readonly from: Checkpoint; readonly to: Checkpoint }
  | { readonly ok: false; readonly reason: string };

/** Checks a consistency proof document: both checkpoints signed (and trusted), and `to`'s tree has `from`'s as its prefix. */
export function verifyConsistencyProofDocument(document: unknown, opts: SignatureCheck): ConsistencyVerdict {
  const fail = (reason: string): ConsistencyVerdict => ({ ok: false, reason });
  const parsed = ConsistencyProofDocument.safeParse(document);
  if (!parsed.success) return fail(malformed(parsed.error));
  const doc = parsed.data;
  const from = signedCheckpoint(doc.from, "the earlier checkpoint", opts);
  if (!from.ok) return fail(from.reason);
  const to = signedCheckpoint(doc.to, "the later checkpoint", opts);
  if (!to.ok) return fail(to.reason);
  if (from.data.size > to.data.size) return fail(`the earlier checkpoint names ${from.data.size} records, more than the later one (${to.data.size})`);
  if (!verifyConsistency(from.data.size, to.data.size, fromHex(from.data.root), fromHex(to.data.root), doc.proof.map(fromHex))) {
    return fail(`the tree of ${to.data.size} records (root ${to.data.root}) does not extend the tree of ${from.data.size} records (root ${from.data.root})`);
  }
  return { ok: true, from: from.data, to: to.data };
}

/** Which kind of proof a document is: an inclusion proof names an event, a consistency proof two checkpoints. */
export function proofKindOf(document: unknown): "inclusion" | "consistency" {
  return document !== null && typeof document === "object" && "from" in document && "to" in document && !("eventId" in document) ? "consistency" : "inclusion";
}
