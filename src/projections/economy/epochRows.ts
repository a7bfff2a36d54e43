import type { PoolClient } from "pg";
import { epochAggregate } from "../../domain/economy/context.js";
import type { Epoch } from "../../domain/economy/epoch.js";
import type { EpochEvent } from "../../domain/economy/epochEvents.js";
import type { AppliedCommit, FoldedKind, FoldedRow } from "../foldedRows.js";
import { insertRows, type TypedColumn } from "../insertRows.js";
import type { ProjectedCommit } from "../projector.js";

async function writeEpoch(db: PoolClient, row: FoldedRow<Epoch>): Promise<void> {
  const s = row.state;
  const final = s.final ? s.records.find((r) => r.recordHash === s.final!.recordHash)?.record : undefined;
  await db.query(
    `INSERT INTO economy_epochs (epoch_id, status, vote_count, record_count, final_record_hash, final_signers, issued_millicredits, load_index_micros,
                                 state, last_seq, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (epoch_id) DO UPDATE SET status = EXCLUDED.status, vote_count = EXCLUDED.vote_count, record_count = EXCLUDED.record_count,
       final_record_hash = EXCLUDED.final_record_hash, final_signers = EXCLUDED.final_signers, issued_millicredits = EXCLUDED.issued_millicredits,
       load_index_micros = EXCLUDED.load_index_micros, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at`,
    [
      row.id,
      s.final ? "final" : "open",
      s.votes.length,
      s.records.length,
      s.final?.recordHash ?? null,
      s.final ? [...s.final.signers] : null,
      final?.issuedMillicredits ?? null,
      final?.loadIndexMicros ?? null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
    ],
  );
}

/**
 * A vote is the signer's own (its coordinatorId is the key that signed it) and about the epoch
 * its subject names: the decider checks neither, as it sees no envelope and no subject.
 */
function ownVoteOnThisEpoch(epochId: string, commit: ProjectedCommit): string | undefined {
  for (const e of commit.events) {
    const event = e as unknown as EpochEvent;
    if (event.type !== "epoch.voted") continue;
    if (event.data.coordinatorId !== e.signer) return `a vote for coordinator ${event.data.coordinatorId} signed by ${e.signer}`;
    if (event.data.record.epochId !== epochId) return `a vote on epoch ${event.data.record.epochId} on the subject of epoch ${epochId}`;
  }
  return undefined;
}

const VOTE_COLUMNS: readonly TypedColumn[] = [
  ["epoch_id", "text"],
  ["coordinator_id", "text"],
  ["record_hash", "text"],
  ["event_id", "uuid"],
  ["voted_at", "timestamptz"],
  ["seq", "bigint"],
];
const RECORD_COLUMNS: readonly TypedColumn[] = [
  ["epoch_id", "text"],
  ["record_hash", "text"],
  ["record", "jsonb"],
  ["first_voted_at", "timestamptz"],
];
const ALLOCATION_COLUMNS: readonly TypedColumn[] = [
  ["epoch_id", "text"],
  ["role", "text"],
  ["account_id", "text"],
  ["millicredits", "bigint"],
];

/** Each vote, each distinct record (with the time of its first vote), and once final, the final record's allocations. */
async function writeTally(db: PoolClient, applied: readonly AppliedCommit<Epoch>[]): Promise<void> {
  const votes: unknown[][] = [];
  const records = new Map<string, unknown[]>();
  const allocations: unknown[][] = [];
  for (const { id, commit, after } of applied) {
    for (const e of commit.events) {
      const event = e as unknown as EpochEvent;
      if (event.type === "epoch.voted") {
        const { coordinatorId, record, recordHash } = event.data;
        votes.push([id, coordinatorId, recordHash, e.id, e.time, commit.seq]);
        const key = `${id} ${recordHash}`;
        if (!records.has(key)) records.set(key, [id, recordHash, JSON.stringify(record), e.time]);
      } else {
        const record = after.records.find((r) => r.recordHash === event.data.recordHash)!.record;
        for (const a of record.allocations) allocations.push([id, a.role, a.accountId, a.millicredits]);
      }
    }
  }
  await insertRows(db, "economy_epoch_votes", VOTE_COLUMNS, votes);
  await insertRows(db, "economy_epoch_records", RECORD_COLUMNS, [...records.values()]);
  await insertRows(db, "economy_epoch_allocations", ALLOCATION_COLUMNS, allocations);
}

export const epochKind: FoldedKind<Epoch> = {
  table: "economy_epochs",
  idColumn: "epoch_id",
  of: epochAggregate,
  write: writeEpoch,
  admit: ownVoteOnThisEpoch,
  history: { tables: ["economy_epoch_records", "economy_epoch_votes", "economy_epoch_allocations"], write: writeTally },
};
