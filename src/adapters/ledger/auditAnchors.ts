import type { BitcoinRpc } from "../bitcoin/rpc.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { CheckpointAnchored } from "../../domain/ledger/anchor.js";
import { Checkpoint } from "../../domain/ledger/record.js";
import type { RawCommit } from "../nats/eventStore.js";
import { nodeLedger, type AuditSource, type LedgerLocation } from "./audit.js";
import { checkAnchor } from "./anchoring.js";
import { eventsOf, type CommitChecker } from "./commitChecker.js";

export interface AnchorAudit {
  readonly anchors: number;
  /** Anchors whose transaction bitcoind showed carrying the checkpoint's hash. */
  readonly confirmed: number;
  readonly failuresReported: number;
  /** The chains the confirmed transactions are on. */
  readonly networks: readonly string[];
  /** The first anchor that is wrong, and why. */
  readonly issue?: { readonly seq: number; readonly recordId: string; readonly reason: string };
  /** Why transactions were not checked (no RPC given, or it did not answer). */
  readonly unchecked?: string;
}

/** One anchor found sound, as it is read. */
export interface CheckedAnchor {
  readonly seq: number;
  readonly anchor: CheckpointAnchored;
  /** Its transaction was found carrying the checkpoint's hash. */
  readonly confirmed: boolean;
}

export interface AnchorAuditor {
  /** Reads the checkpoints and anchors appended since the last call and checks the new anchors. */
  catchUp(): Promise<AnchorAudit>;
}

interface Checked {
  readonly seq: number;
  readonly envelope: EventEnvelope;
  readonly valid: boolean;
  readonly hash: string;
}

/**
 * The anchors in the ledger, read incrementally (a following auditor calls catchUp as anchors
 * arrive): each `ledger.anchored` event must be validly signed (by a trusted key, when keys are
 * given) and name the hash of a validly signed checkpoint the ledger holds at that size; and when
 * bitcoind's RPC is reachable, the transaction it names must exist there and carry that hash in
 * its OP_RETURN output. An anchor that points at nothing is the seed's old fault. Anchor failures
 * (`ledger.anchorFailed`) are counted: they are reports, not faults. Once an anchor is wrong the
 * auditor stops there.
 */
export function anchorAuditor(opts: {
  store: Pick<AuditSource, "read" | "lastSeqOf">;
  checker: CommitChecker;
  /** The ledger and its anchor subject (the node's by default). */
  ledger?: LedgerLocation;
  rpc?: BitcoinRpc;
  trustedKeys?: ReadonlySet<string>;
  onAnchor?: (checked: CheckedAnchor) => void;
}): AnchorAuditor {
  const ledger = opts.ledger ?? nodeLedger;
  const anchorSubject = ledger.anchorSubject ?? nodeLedger.anchorSubject!;
  const trusted = (signer: string) => !opts.trustedKeys || opts.trustedKeys.has(signer);
  const hashBySize = new Map<number, string>();
  const readUpTo = new Map<string, number>();
  let anchors = 0;
  let confirmed = 0;
  let failuresReported = 0;
  const networks = new Set<string>();
  let unchecked = opts.rpc ? undefined : "no bitcoind RPC given: transactions not checked";
  let issue: AnchorAudit["issue"];

  /** What a subject holds past what was read of it before. */
  async function readNew(subject: string): Promise<Checked[]> {
    const from = (readUpTo.get(subject) ?? 0) + 1;
    const last = await opts.store.lastSeqOf(ledger.stream, subject);
    if (last < from) return [];
    const commits: RawCommit[] = [];
    for await (const c of opts.store.read(ledger.stream, { subjects: subject, fromSeq: from, toSeq: last })) commits.push(c);
    readUpTo.set(subject, last);
    const checked = await opts.checker.check(commits.map((c) => c.data));
    const out: Checked[] = [];
    for (const c of commits) {
      for (const e of eventsOf(new TextDecoder().decode(c.data)) ?? []) {
        const k = out.length;
        out.push({ seq: c.seq, envelope: e as EventEnvelope, valid: checked.valid[k] ?? false, hash: checked.hashes[k] ?? "" });
      }
    }
    return out;
  }

  async function take({ seq, envelope, valid }: Checked): Promise<boolean> {
    const fail = (reason: string) => ((issue = { seq, recordId: typeof envelope?.id === "string" ? envelope.id : "(not an event)", reason }), false);
    if (!valid) return fail(`bad signature (signer ${envelope?.signer})`);
    if (!trusted(envelope.signer)) return fail(`signed by an unknown key ${envelope.signer}`);
    if (envelope.type === "ledger.anchorFailed") {
      failuresReported += 1;
      return true;
    }
    const parsed = CheckpointAnchored.safeParse(envelope.data);
    if (envelope.type !== "ledger.anchored" || !parsed.success) return fail("malformed anchor record");
    const anchor = parsed.data;
    anchors += 1;
    const expected = hashBySize.get(anchor.checkpointSize);
    if (expected === undefined) return fail(`anchors checkpoint ${anchor.checkpointSize}, which the ledger does not hold`);
    if (expected !== anchor.checkpointHash) return fail(`anchors hash ${anchor.checkpointHash}, but checkpoint ${anchor.checkpointSize} hashes to ${expected}`);
    let found = false;
    if (opts.rpc && !unchecked) {
      const check = await checkAnchor(opts.rpc, anchor);
      if (check.status === "missing") return fail(`transaction ${anchor.txid} is not on ${anchor.network}: ${check.reason}`);
      if (check.status === "mismatch") return fail(`transaction ${anchor.txid} carries ${check.found ?? "no checkpoint hash"}, not ${anchor.checkpointHash}`);
      if (check.status === "unreachable") unchecked = `transactions not checked: ${check.reason}`;
      else {
        found = true;
        confirmed += 1;
        networks.add(anchor.network);
      }
    }
    opts.onAnchor?.({ seq, anchor, confirmed: found });
    return true;
  }

  const summary = (): AnchorAudit => ({ anchors, confirmed, failuresReported, networks: [...networks], ...(issue ? { issue } : {}), ...(unchecked ? { unchecked } : {}) });

  return {
    async catchUp() {
      if (issue) return summary();
      // bitcoind may be back: each catch-up tries it again for the anchors it reads.
      if (opts.rpc) unchecked = undefined;
      // Checkpoints first: an anchor is written after the checkpoint it names.
      for (const c of await readNew(ledger.checkpointSubject)) {
        const data = Checkpoint.safeParse(c.envelope?.data);
        if (c.valid && trusted(c.envelope.signer) && data.success) hashBySize.set(data.data.size, c.hash);
      }
      for (const a of await readNew(anchorSubject)) if (!(await take(a))) break;
      return summary();
    },
  };
}

/** Every anchor of the ledger, checked once (see anchorAuditor). */
export function auditAnchors(opts: Parameters<typeof anchorAuditor>[0]): Promise<AnchorAudit> {
  return anchorAuditor(opts).catchUp();
}
