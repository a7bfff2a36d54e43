import type { AuditSource } from "./audit.js";
import { ledgerAuditor, nodeLedger, startOfLedger, type AuditIssue, type AuditPosition, type LedgerLocation, type VerifiedCheckpoint } from "./audit.js";
import { auditStateOf, loadAuditState, positionOf, saveAuditState } from "./auditState.js";
import { chainedStreams } from "../../domain/contexts.js";
import { checkedInBatches, ledgerSteps } from "./checkedBatches.js";
import type { CommitChecker } from "./commitChecker.js";
import { sourceIndex } from "./ledgerSources.js";
import { anchorAuditor, type AnchorAudit, type CheckedAnchor } from "./auditAnchors.js";
import type { BitcoinRpc } from "../bitcoin/rpc.js";

export interface FollowOptions {
  readonly store: AuditSource;
  readonly checker: CommitChecker;
  readonly ledger?: LedgerLocation;
  readonly sourceStreams?: readonly string[];
  readonly trustedKeys?: ReadonlySet<string>;
  /** Where the last verified state is kept; a run resumes from it when it exists. */
  readonly stateFile: string;
  /** Stops following: what was read is verified and saved first. */
  readonly signal: AbortSignal;
  /** Progress between checkpoints is saved this often too. */
  readonly saveEveryMs?: number;
  readonly onResume?: (position: AuditPosition) => void;
  /** While catching up with what the ledger held at the start. */
  readonly onProgress?: (p: { seq: number; lastSeq: number; records: number }) => void;
  /** Once everything the ledger held at the start is verified. */
  readonly onCaughtUp?: (position: AuditPosition) => void;
  /** Each checkpoint verified; `live` once caught up. */
  readonly onCheckpoint?: (checkpoint: VerifiedCheckpoint, live: boolean) => void;
  /** Where anchors' transactions are checked, if anywhere. */
  readonly rpc?: BitcoinRpc;
  /** Each anchor found sound: checked once caught up, then as each arrives. */
  readonly onAnchor?: (anchor: CheckedAnchor) => void;
}

export interface FollowResult {
  readonly ok: boolean;
  readonly issue?: AuditIssue;
  /** The last verified position, as saved. */
  readonly position: AuditPosition;
  /** The ledger sequence this run resumed after (0: it started from the beginning). */
  readonly resumedFrom: number;
  readonly recordsThisRun: number;
  readonly checkpointsThisRun: number;
  /** The anchors checked this run (all of them: they are read again at each start). */
  readonly anchors?: AnchorAudit;
}

/**
 * `edgecoder audit --follow`: verifies the ledger from where the state file says the last run
 * stopped (or from its start), then each new record and checkpoint as it is appended, until the
 * signal aborts or something is wrong. The state (ledger sequence, chain progress, Merkle
 * frontier, last checkpoint, which source events were chained) is saved after each checkpoint
 * verified, every `saveEveryMs` and at the end, so a restarted auditor re-reads the source streams
 * but never re-verifies the chain it already verified.
 */
export async function followLedger(opts: FollowOptions): Promise<FollowResult> {
  const ledger = opts.ledger ?? nodeLedger;
  const saved = await loadAuditState(opts.stateFile);
  const stream = await opts.store.streamState(ledger.stream);
  if (saved) {
    const other = saved.ledger;
    if (other.stream !== ledger.stream || other.chainSubject !== ledger.chainSubject || other.checkpointSubject !== ledger.checkpointSubject) {
      throw new Error(`${opts.stateFile} holds the audit of ${other.stream} (${other.chainSubject}), not of ${ledger.stream} (${ledger.chainSubject})`);
    }
    if (other.created !== stream.created) {
      throw new Error(`stream ${ledger.stream} was created again (${stream.created}, was ${other.created}) since ${opts.stateFile} was saved: audit from the start`);
    }
    if (saved.seq > stream.lastSeq) throw new Error(`${opts.stateFile} is at ledger sequence ${saved.seq}, beyond the stream's last (${stream.lastSeq})`);
  }
  const from = saved ? positionOf(saved) : startOfLedger;
  if (saved) opts.onResume?.(from);

  const sources = sourceIndex({ store: opts.store, checker: opts.checker, streams: opts.sourceStreams ?? chainedStreams, ...(saved ? { from: saved.sources } : {}) });
  const verified: VerifiedCheckpoint[] = [];
  const auditor = ledgerAuditor({ ledger, sources, from, onCheckpoint: (c) => verified.push(c), ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}) });
  const save = () => saveAuditState(opts.stateFile, auditStateOf(auditor.position(), { ...ledger, created: stream.created }, sources.save()));
  const saveEvery = opts.saveEveryMs ?? 5_000;
  let lastSave = Date.now();
  let checkpointsThisRun = 0;

  // Anchors are checked once the ledger before them is, then as each arrives.
  const anchorCheck =
    ledger.anchorSubject === undefined
      ? undefined
      : anchorAuditor({
          store: opts.store,
          checker: opts.checker,
          ledger,
          ...(opts.rpc ? { rpc: opts.rpc } : {}),
          ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}),
          ...(opts.onAnchor ? { onAnchor: opts.onAnchor } : {}),
        });
  let anchors: AnchorAudit | undefined;
  const anchorsHold = async () => {
    if (anchorCheck) anchors = await anchorCheck.catchUp();
    return !anchors?.issue;
  };

  // Re-reading the sources is the one thing a resumed auditor does again: records name them by id.
  await sources.catchUp();
  let caughtUp = from.seq >= stream.lastSeq;
  if (caughtUp) opts.onCaughtUp?.(from);
  if (caughtUp && !(await anchorsHold())) return result();

  const stop = new AbortController();
  const abort = () => stop.abort();
  opts.signal.addEventListener("abort", abort, { once: true });
  if (opts.signal.aborted) stop.abort();
  try {
    await checkedInBatches(opts.store.follow(ledger.stream, { fromSeq: from.seq + 1, signal: stop.signal }), ledgerSteps(opts.checker, async (batch, checked) => {
      const go = await auditor.take(batch, checked);
      const position = auditor.position();
      const newly = verified.splice(0);
      checkpointsThisRun += newly.length;
      for (const c of newly) opts.onCheckpoint?.(c, caughtUp);
      let anchorsDue = caughtUp && batch.some((c) => c.subject === ledger.anchorSubject);
      if (!caughtUp) {
        opts.onProgress?.({ seq: position.seq, lastSeq: stream.lastSeq, records: position.progress.count });
        if (go && position.seq >= stream.lastSeq) {
          caughtUp = true;
          opts.onCaughtUp?.(position);
          anchorsDue = true;
        }
      }
      if (!go || (anchorsDue && !(await anchorsHold()))) {
        stop.abort();
        return false;
      }
      if (newly.length > 0 || Date.now() - lastSave >= saveEvery) {
        await save();
        lastSave = Date.now();
      }
      return true;
    }));
  } finally {
    opts.signal.removeEventListener("abort", abort);
  }
  return result();

  async function result(): Promise<FollowResult> {
    await save();
    const position = auditor.position();
    const issue = auditor.issue();
    return {
      ok: !issue && !anchors?.issue,
      ...(issue ? { issue } : {}),
      position,
      resumedFrom: from.seq,
      recordsThisRun: position.progress.count - from.progress.count,
      checkpointsThisRun,
      ...(anchors ? { anchors } : {}),
    };
  }
}
