import type { PoolClient } from "pg";
import { policyAggregate } from "../../domain/economy/context.js";
import type { PolicyLine } from "../../domain/economy/policy.js";
import type { PolicyEvent } from "../../domain/economy/policyEvents.js";
import type { AppliedCommit, FoldedKind, FoldedRow } from "../foldedRows.js";
import { insertRows, type TypedColumn } from "../insertRows.js";
import type { ProjectedCommit } from "../projector.js";

/** first_at is written once, with the row: the list of policies pages on it. */
async function writePolicy(db: PoolClient, row: FoldedRow<PolicyLine>): Promise<void> {
  const s = row.state;
  await db.query(
    `INSERT INTO economy_policies (policy_id, active_version, active_document_hash, activated_at, pending_version, pending_document_hash,
                                   state, last_seq, updated_at, first_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (policy_id) DO UPDATE SET active_version = EXCLUDED.active_version, active_document_hash = EXCLUDED.active_document_hash,
       activated_at = EXCLUDED.activated_at, pending_version = EXCLUDED.pending_version, pending_document_hash = EXCLUDED.pending_document_hash,
       state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at`,
    [
      row.id,
      s.active?.version ?? null,
      s.active?.documentHash ?? null,
      s.active?.activatedAt ?? null,
      s.pending?.version ?? null,
      s.pending?.documentHash ?? null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
      row.firstAt,
    ],
  );
}

/** A proposal names its policy line, which must be the one its subject names. */
function proposedForThisLine(policyId: string, commit: ProjectedCommit): string | undefined {
  const stranger = commit.events.find((e) => e.type === "policy.proposed" && (e as unknown as Extract<PolicyEvent, { type: "policy.proposed" }>).data.policyId !== policyId);
  return stranger ? `a proposal for another policy line on the subject of ${policyId}` : undefined;
}

const PROPOSAL_COLUMNS: readonly TypedColumn[] = [
  ["event_id", "uuid"],
  ["policy_id", "text"],
  ["version", "integer"],
  ["document_hash", "text"],
  ["policy", "jsonb"],
  ["proposed_at", "timestamptz"],
  ["signer", "text"],
  ["seq", "bigint"],
];
const ACTIVATION_COLUMNS: readonly TypedColumn[] = [
  ["event_id", "uuid"],
  ["policy_id", "text"],
  ["version", "integer"],
  ["document_hash", "text"],
  ["signatures", "jsonb"],
  ["activated_at", "timestamptz"],
  ["signer", "text"],
  ["seq", "bigint"],
];

/** Every version put to the custodians, and every activation with the signatures that approved it. */
async function writeVersions(db: PoolClient, applied: readonly AppliedCommit<PolicyLine>[]): Promise<void> {
  const proposals: unknown[][] = [];
  const activations: unknown[][] = [];
  for (const { id, commit } of applied) {
    for (const e of commit.events) {
      const event = e as unknown as PolicyEvent;
      if (event.type === "policy.proposed") {
        const { version, documentHash, policy, proposedAt } = event.data;
        proposals.push([e.id, id, version, documentHash, JSON.stringify(policy), proposedAt, e.signer, commit.seq]);
      } else {
        const { version, documentHash, signatures, activatedAt } = event.data;
        activations.push([e.id, id, version, documentHash, JSON.stringify(signatures), activatedAt, e.signer, commit.seq]);
      }
    }
  }
  await insertRows(db, "economy_policy_proposals", PROPOSAL_COLUMNS, proposals);
  await insertRows(db, "economy_policy_activations", ACTIVATION_COLUMNS, activations);
}

export const policyKind: FoldedKind<PolicyLine> = {
  table: "economy_policies",
  idColumn: "policy_id",
  of: policyAggregate,
  write: writePolicy,
  admit: proposedForThisLine,
  history: { tables: ["economy_policy_proposals", "economy_policy_activations"], write: writeVersions },
};
