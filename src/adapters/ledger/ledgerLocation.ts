import { ANCHOR_SUBJECT, CHAIN_SUBJECT, CHECKPOINT_SUBJECT, LEDGER_STREAM } from "../../domain/ledger/record.js";
import type { EventReader } from "../nats/eventStore.js";

// What the audit and the indexes it builds (ledgerSources, unchainedSources) share, apart from
// the audit itself, so that they need not import it.

/** What an audit reads: the streams, through a reader with read-only credentials. */
export type AuditSource = Pick<EventReader, "read" | "follow" | "lastSeq" | "lastSeqOf" | "streamState" | "commitAt">;

/** Where a ledger lives: the node's, or a copy an auditor made (tests tamper with copies). */
export interface LedgerLocation {
  readonly stream: string;
  readonly chainSubject: string;
  readonly checkpointSubject: string;
  /** Where anchors are recorded; a ledger without one has no anchors to check. */
  readonly anchorSubject?: string;
}
export const nodeLedger: LedgerLocation = { stream: LEDGER_STREAM, chainSubject: CHAIN_SUBJECT, checkpointSubject: CHECKPOINT_SUBJECT, anchorSubject: ANCHOR_SUBJECT };
