import { z } from "zod";
import { AggregateId, parseSubject, type EventEnvelope } from "../events/envelope.js";
import { eventRegistry, eventSpec } from "../events/registry.js";
import { taskIdOfSubtask } from "../tasks/subtask.js";
import { CheckpointAnchored, CheckpointAnchorFailed } from "./anchor.js";
import { eventHash } from "./eventHash.js";

// The hash records link by, where its readers have always found it (worker threads import ./eventHash.js alone).
export { eventHash };

export { ANCHOR_SUBJECT, CHAIN_SUBJECT, CHECKPOINT_SUBJECT, LEDGER_STREAM } from "./names.js";

export const Hash = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 hash as 64 lowercase hex digits");
/** What the first record links to. */
export const GENESIS_HASH = "0".repeat(64);

export const SourceRef = z.object({
  stream: z.string().min(1).max(64),
  seq: z.number().int().min(1),
  subject: z.string().min(1).max(256),
  eventId: z.string().min(1).max(128),
  /** eventHash() of the source event as it stands in its stream. */
  hash: Hash,
});

/** One queue event in the ledger, linked to the record before it. */
export const LedgerRecord = z.object({
  index: z.number().int().min(0),
  prevHash: Hash,
  eventType: z.string().min(1).max(100),
  taskId: AggregateId.optional(),
  subtaskId: AggregateId.optional(),
  /** The key that signed the source event. */
  actor: z.string().min(1).max(64),
  eventTime: z.string().min(1).max(40),
  source: SourceRef,
});
export type LedgerRecord = z.infer<typeof LedgerRecord>;

/** A signed statement of the ledger so far: its size, last record and Merkle root (RFC 9162). */
export const Checkpoint = z.object({ size: z.number().int().min(1), headHash: Hash, root: Hash });
export type Checkpoint = z.infer<typeof Checkpoint>;

export const ledgerRecorded = eventSpec("ledger.recorded", 1, LedgerRecord);
export const ledgerCheckpointed = eventSpec("ledger.checkpointed", 1, Checkpoint);
/** A checkpoint's hash (eventHash of its envelope) sent to Bitcoin in an OP_RETURN output. */
export const ledgerAnchored = eventSpec("ledger.anchored", 1, CheckpointAnchored);
/** An anchoring attempt that failed: reported, and tried again. */
export const ledgerAnchorFailed = eventSpec("ledger.anchorFailed", 1, CheckpointAnchorFailed);
export const ledgerEventSpecs = [ledgerRecorded, ledgerCheckpointed, ledgerAnchored, ledgerAnchorFailed] as const;
export const ledgerEvents = eventRegistry(...ledgerEventSpecs);

/** The task and subtask an event is about, read from its subject's aggregate kind and id. */
export function taskRefs(subject: string): { taskId?: string; subtaskId?: string } {
  const parts = parseSubject(subject);
  if (parts?.context !== "tasks" || parts.id === undefined) return {};
  if (parts.aggregate === "task") return { taskId: parts.id };
  if (parts.aggregate === "subtask") {
    const taskId = taskIdOfSubtask(parts.id);
    return { subtaskId: parts.id, ...(taskId ? { taskId } : {}) };
  }
  return {};
}

/** The record of `source` (event number `seq` of `stream`) at `index`, after the record hashed `prevHash`. */
export function recordOf(source: EventEnvelope, at: { stream: string; seq: number }, index: number, prevHash: string): LedgerRecord {
  return recordFor(source, { ...at, hash: eventHash(source) }, index, prevHash);
}

/** The fields of a source event a record repeats. */
export type SourceFields = Pick<EventEnvelope, "id" | "type" | "subject" | "signer" | "time">;

/** recordOf() with the source's hash already known (an auditor hashes on worker threads). */
export function recordFor(source: SourceFields, at: { stream: string; seq: number; hash: string }, index: number, prevHash: string): LedgerRecord {
  return {
    index,
    prevHash,
    eventType: source.type,
    ...taskRefs(source.subject),
    actor: source.signer,
    eventTime: source.time,
    source: { stream: at.stream, seq: at.seq, subject: source.subject, eventId: source.id, hash: at.hash },
  };
}
