import type { EventEnvelope } from "../../domain/events/envelope.js";
import { merkleAccumulator } from "../../domain/ledger/merkle.js";
import { CHAIN_SUBJECT, CHECKPOINT_SUBJECT, Checkpoint, eventHash, LEDGER_STREAM } from "../../domain/ledger/record.js";
import { chainVerifier, checkpointIssue, type ChainIssue, type ChainProgress, type SourceEvent } from "../../domain/ledger/verify.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import type { EventStore, RawCommit } from "../nats/eventStore.js";
import { CHAINED_STREAMS } from "./chainer.js";

/** Where a ledger lives: the node's, or a copy an auditor made (tests tamper with copies). */
export interface LedgerLocation {
  readonly stream: string;
  readonly chainSubject: string;
  readonly checkpointSubject: string;
}
export const nodeLedger: LedgerLocation = { stream: LEDGER_STREAM, chainSubject: CHAIN_SUBJECT, checkpointSubject: CHECKPOINT_SUBJECT };

export interface AuditOptions {
  readonly store: EventStore;
  readonly verifier: SignatureVerifier;
  readonly ledger?: LedgerLocation;
  readonly sourceStreams?: readonly string[];
  readonly trustedKeys?: ReadonlySet<string>;
  readonly batchSize?: number;
  readonly onProgress?: (records: number) => void;
}

export interface AuditResult {
  readonly ok: boolean;
  readonly records: number;
  readonly checkpoints: number;
  readonly headHash: string;
  readonly latestCheckpoint?: Checkpoint & { signer: string; seq: number };
  /** The first bad record, or the first bad checkpoint. */
  readonly issue?: ChainIssue & { kind: "record" | "checkpoint" };
  /** The record hashes in order (the Merkle tree's leaves), for proofs. */
  readonly leaves: readonly string[];
  readonly progress: ChainProgress;
}

const decode = (c: RawCommit) => JSON.parse(new TextDecoder().decode(c.data)) as EventEnvelope[];

/**
 * Reads what a stream (or one subject of it) holds now. A filtered read must end at the subject's
 * own last message: waiting for the stream's last one would wait for a message that never comes.
 */
async function* commitsOf(store: EventStore, stream: string, subjects?: string): AsyncGenerator<RawCommit> {
  const lastSeq = subjects ? await store.lastSeqOf(stream, subjects) : await store.lastSeq(stream);
  if (lastSeq === 0) return;
  for await (const c of store.read(stream, { toSeq: lastSeq, ...(subjects ? { subjects } : {}) })) yield c;
}

/**
 * The auditor's full check, with nothing but the streams and public keys: every source event's
 * signature, every ledger record (signature, trusted signer, index, link, match with its source
 * event, no event chained twice), and every checkpoint (signature, head hash, Merkle root).
 * Signatures are checked in batches on the verifier's worker threads. Stops at the first bad
 * record and names it.
 */
export async function auditLedger(opts: AuditOptions): Promise<AuditResult> {
  const ledger = opts.ledger ?? nodeLedger;
  const batchSize = opts.batchSize ?? 2_000;

  const sources = new Map<string, SourceEvent>();
  for (const stream of opts.sourceStreams ?? CHAINED_STREAMS) {
    let batch: { seq: number; event: EventEnvelope }[] = [];
    const flush = async () => {
      const valid = await opts.verifier.verifyAll(batch.map((b) => b.event));
      batch.forEach((b, i) => valid[i] && sources.set(b.event.id, { stream, seq: b.seq, event: b.event }));
      batch = [];
    };
    for await (const commit of commitsOf(opts.store, stream)) {
      for (const event of decode(commit)) batch.push({ seq: commit.seq, event });
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  }

  const checkpoints: { envelope: EventEnvelope; seq: number }[] = [];
  for await (const commit of commitsOf(opts.store, ledger.stream, ledger.checkpointSubject)) {
    for (const envelope of decode(commit)) checkpoints.push({ envelope, seq: commit.seq });
  }
  const wanted = new Set(checkpoints.map((c) => (c.envelope.data as { size?: number }).size ?? -1));
  const roots = new Map<number, string>();

  const verifier = chainVerifier({ source: (id) => sources.get(id), ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}) });
  const tree = merkleAccumulator();
  const leaves: string[] = [];
  let pending: { envelope: EventEnvelope; seq: number }[] = [];
  let issue: AuditResult["issue"];
  const drain = async () => {
    const valid = await opts.verifier.verifyAll(pending.map((p) => p.envelope));
    for (const [i, p] of pending.entries()) {
      const bad = verifier.check(p.envelope, valid[i]!, p.seq);
      if (bad) {
        issue = { ...bad, kind: "record" };
        break;
      }
      const hash = eventHash(p.envelope);
      leaves.push(hash);
      tree.append(Buffer.from(hash, "hex"));
      if (wanted.has(leaves.length)) roots.set(leaves.length, Buffer.from(tree.root()).toString("hex"));
    }
    pending = [];
    opts.onProgress?.(leaves.length);
  };
  for await (const commit of commitsOf(opts.store, ledger.stream, ledger.chainSubject)) {
    let envelopes: EventEnvelope[];
    try {
      envelopes = decode(commit);
    } catch {
      await drain();
      issue ??= { kind: "record", position: leaves.length, seq: commit.seq, recordId: "?", reason: "not JSON: the message was altered" };
      break;
    }
    for (const envelope of envelopes) pending.push({ envelope, seq: commit.seq });
    if (pending.length >= batchSize) await drain();
    if (issue) break;
  }
  if (!issue) await drain();

  let latest: AuditResult["latestCheckpoint"];
  if (!issue) {
    const valid = await opts.verifier.verifyAll(checkpoints.map((c) => c.envelope));
    for (const [i, c] of checkpoints.entries()) {
      const why = checkpointIssue(c.envelope, valid[i]!, { headHashAt: (size) => leaves[size - 1], rootAt: (size) => roots.get(size) }, opts.trustedKeys);
      if (why) {
        issue = { kind: "checkpoint", position: i, seq: c.seq, recordId: c.envelope.id, reason: why };
        break;
      }
      latest = { ...(c.envelope.data as Checkpoint), signer: c.envelope.signer, seq: c.seq };
    }
  }
  const progress = verifier.progress();
  return {
    ok: !issue,
    records: progress.count,
    checkpoints: latest ? checkpoints.findIndex((c) => c.seq === latest.seq) + 1 : 0,
    headHash: progress.headHash,
    ...(latest ? { latestCheckpoint: latest } : {}),
    ...(issue ? { issue } : {}),
    leaves,
    progress,
  };
}
