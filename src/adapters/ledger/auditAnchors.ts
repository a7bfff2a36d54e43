import type { BitcoinRpc } from "../bitcoin/rpc.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { CheckpointAnchored } from "../../domain/ledger/anchor.js";
import { ANCHOR_SUBJECT, CHECKPOINT_SUBJECT, Checkpoint, eventHash, LEDGER_STREAM } from "../../domain/ledger/record.js";
import type { EventStore } from "../nats/eventStore.js";
import { checkAnchor } from "./anchoring.js";

export interface AnchorAudit {
  readonly anchors: number;
  /** Anchors whose transaction bitcoind showed carrying the checkpoint's hash. */
  readonly confirmed: number;
  readonly failuresReported: number;
  /** The first anchor that is wrong, and why. */
  readonly issue?: { readonly seq: number; readonly recordId: string; readonly reason: string };
  /** Why the transactions could not be checked (no RPC given, or it did not answer). */
  readonly unchecked?: string;
}

const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as EventEnvelope[];

/**
 * The anchors in the ledger: each `ledger.anchored` event must be validly signed (by a trusted
 * key, when keys are given) and name the hash of a checkpoint the ledger holds at that size; and
 * when bitcoind's RPC is reachable, the transaction it names must exist there and carry that
 * hash in its OP_RETURN output. An anchor that points at nothing is the seed's old fault.
 */
export async function auditAnchors(opts: {
  store: EventStore;
  verifier: SignatureVerifier;
  rpc?: BitcoinRpc;
  trustedKeys?: ReadonlySet<string>;
}): Promise<AnchorAudit> {
  const read = async (subject: string) => {
    const last = await opts.store.lastSeqOf(LEDGER_STREAM, subject);
    const out: { seq: number; envelope: EventEnvelope }[] = [];
    if (last === 0) return out;
    for await (const c of opts.store.read(LEDGER_STREAM, { subjects: subject, toSeq: last })) for (const envelope of decode(c.data)) out.push({ seq: c.seq, envelope });
    return out;
  };
  const checkpoints = await read(CHECKPOINT_SUBJECT);
  const checkpointValid = await opts.verifier.verifyAll(checkpoints.map((c) => c.envelope));
  const hashBySize = new Map<number, string>();
  checkpoints.forEach((c, i) => checkpointValid[i] && hashBySize.set((c.envelope.data as Checkpoint).size, eventHash(c.envelope)));

  const entries = await read(ANCHOR_SUBJECT);
  const valid = await opts.verifier.verifyAll(entries.map((e) => e.envelope));
  let anchors = 0;
  let confirmed = 0;
  let failuresReported = 0;
  let unchecked = opts.rpc ? undefined : "no bitcoind RPC given: transactions not checked";
  for (const [i, { seq, envelope }] of entries.entries()) {
    const issue = (reason: string): AnchorAudit => ({ anchors, confirmed, failuresReported, issue: { seq, recordId: envelope.id, reason }, ...(unchecked ? { unchecked } : {}) });
    if (!valid[i]) return issue(`bad signature (signer ${envelope.signer})`);
    if (opts.trustedKeys && !opts.trustedKeys.has(envelope.signer)) return issue(`signed by an unknown key ${envelope.signer}`);
    if (envelope.type === "ledger.anchorFailed") {
      failuresReported += 1;
      continue;
    }
    const parsed = CheckpointAnchored.safeParse(envelope.data);
    if (envelope.type !== "ledger.anchored" || !parsed.success) return issue("malformed anchor record");
    const anchor = parsed.data;
    anchors += 1;
    const expected = hashBySize.get(anchor.checkpointSize);
    if (expected === undefined) return issue(`anchors checkpoint ${anchor.checkpointSize}, which the ledger does not hold`);
    if (expected !== anchor.checkpointHash) return issue(`anchors hash ${anchor.checkpointHash}, but checkpoint ${anchor.checkpointSize} hashes to ${expected}`);
    if (!opts.rpc || unchecked) continue;
    const check = await checkAnchor(opts.rpc, anchor);
    if (check.status === "ok") confirmed += 1;
    else if (check.status === "unreachable") unchecked = `transactions not checked: ${check.reason}`;
    else if (check.status === "missing") return issue(`transaction ${anchor.txid} is not on ${anchor.network}: ${check.reason}`);
    else return issue(`transaction ${anchor.txid} carries ${check.found ?? "no checkpoint hash"}, not ${anchor.checkpointHash}`);
  }
  return { anchors, confirmed, failuresReported, ...(unchecked ? { unchecked } : {}) };
}
