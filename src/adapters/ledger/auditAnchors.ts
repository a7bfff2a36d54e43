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
  /** The chain the confirmed transactions are on (what bitcoind reported of the anchors). */
  readonly networks: readonly string[];
  /** The first anchor that is wrong, and why. */
  readonly issue?: { readonly seq: number; readonly recordId: string; readonly reason: string };
  /** Why the transactions could not be checked (no RPC given, or it did not answer). */
  readonly unchecked?: string;
}

interface Checked {
  readonly seq: number;
  readonly envelope: EventEnvelope;
  readonly valid: boolean;
  readonly hash: string;
}

/**
 * The anchors in the ledger: each `ledger.anchored` event must be validly signed (by a trusted
 * key, when keys are given) and name the hash of a validly signed checkpoint the ledger holds at
 * that size; and when bitcoind's RPC is reachable, the transaction it names must exist there and
 * carry that hash in its OP_RETURN output. An anchor that points at nothing is the seed's old
 * fault. Anchor failures (`ledger.anchorFailed`) are counted: they are reports, not faults.
 */
export async function auditAnchors(opts: {
  store: Pick<AuditSource, "read" | "lastSeqOf">;
  checker: CommitChecker;
  /** The ledger and its anchor subject (the node's by default). */
  ledger?: LedgerLocation;
  rpc?: BitcoinRpc;
  trustedKeys?: ReadonlySet<string>;
}): Promise<AnchorAudit> {
  const ledger = opts.ledger ?? nodeLedger;
  const read = async (subject: string): Promise<Checked[]> => {
    const last = await opts.store.lastSeqOf(ledger.stream, subject);
    if (last === 0) return [];
    const commits: RawCommit[] = [];
    for await (const c of opts.store.read(ledger.stream, { subjects: subject, toSeq: last })) commits.push(c);
    const checked = await opts.checker.check(commits.map((c) => c.data));
    const out: Checked[] = [];
    for (const c of commits) {
      for (const e of eventsOf(new TextDecoder().decode(c.data)) ?? []) {
        const k = out.length;
        out.push({ seq: c.seq, envelope: e as EventEnvelope, valid: checked.valid[k] ?? false, hash: checked.hashes[k] ?? "" });
      }
    }
    return out;
  };
  const trusted = (signer: string) => !opts.trustedKeys || opts.trustedKeys.has(signer);
  const hashBySize = new Map<number, string>();
  for (const c of await read(ledger.checkpointSubject)) {
    const data = Checkpoint.safeParse(c.envelope.data);
    if (c.valid && trusted(c.envelope.signer) && data.success) hashBySize.set(data.data.size, c.hash);
  }

  let anchors = 0;
  let confirmed = 0;
  let failuresReported = 0;
  const networks = new Set<string>();
  let unchecked = opts.rpc ? undefined : "no bitcoind RPC given: transactions not checked";
  const result = (issue?: AnchorAudit["issue"]): AnchorAudit => ({
    anchors,
    confirmed,
    failuresReported,
    networks: [...networks],
    ...(issue ? { issue } : {}),
    ...(unchecked ? { unchecked } : {}),
  });
  for (const { seq, envelope, valid } of await read(ledger.anchorSubject ?? nodeLedger.anchorSubject!)) {
    const issue = (reason: string) => result({ seq, recordId: typeof envelope?.id === "string" ? envelope.id : "(not an event)", reason });
    if (!valid) return issue(`bad signature (signer ${envelope?.signer})`);
    if (!trusted(envelope.signer)) return issue(`signed by an unknown key ${envelope.signer}`);
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
    if (check.status === "ok") {
      confirmed += 1;
      networks.add(anchor.network);
    } else if (check.status === "unreachable") unchecked = `transactions not checked: ${check.reason}`;
    else if (check.status === "missing") return issue(`transaction ${anchor.txid} is not on ${anchor.network}: ${check.reason}`);
    else return issue(`transaction ${anchor.txid} carries ${check.found ?? "no checkpoint hash"}, not ${anchor.checkpointHash}`);
  }
  return result();
}
