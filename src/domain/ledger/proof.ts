import { z } from "zod";
import { EventEnvelope } from "../events/envelope.js";
import { fromHex, inclusionProof, toHex, verifyInclusion, type MerkleTreeSource } from "./merkle.js";
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
  opts: { signatureOk: (event: EventEnvelope) => boolean; trustedKeys?: ReadonlySet<string> },
): ProofVerdict {
  const fail = (reason: string): ProofVerdict => ({ ok: false, reason });
  const parsed = InclusionProofDocument.safeParse(document);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return fail(`malformed proof: ${first ? `${first.path.join(".") || "(document)"}: ${first.message}` : "invalid"}`);
  }
  const doc = parsed.data;
  const trusted = (key: string) => !opts.trustedKeys || opts.trustedKeys.has(key);

  const checkpoint = Checkpoint.safeParse(doc.checkpoint.data);
  if (doc.checkpoint.type !== "ledger.checkpointed" || !checkpoint.success) return fail("the checkpoint is not a ledger checkpoint");
  if (!opts.signatureOk(doc.checkpoint)) return fail(`the checkpoint's signature is invalid (signer ${doc.checkpoint.signer})`);
  if (!trusted(doc.checkpoint.signer)) return fail(`the checkpoint is signed by an unknown key ${doc.checkpoint.signer}`);

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
