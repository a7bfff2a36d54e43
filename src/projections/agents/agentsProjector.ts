import type { PoolClient } from "pg";
import { agentRecord, type Agent } from "../../domain/agents/agent.js";
import { agentAggregate, agentsContext } from "../../domain/agents/context.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { storableParams } from "../../adapters/postgres/storableText.js";
import { foldedRowsProjector, type FoldedKind, type FoldedRow } from "../foldedRows.js";

/** first_seen_at is written once, with the row: lists page on it, so it must never move. */
async function writeAgent(db: PoolClient, row: FoldedRow<Agent>): Promise<void> {
  const s = row.state;
  const profile = s.status === "none" ? undefined : s.profile;
  const record = agentRecord(s);
  await db.query(
    `INSERT INTO agents (agent_id, status, name, mode, capabilities, reason, state, last_seq, updated_at,
                         approved_by, checked_results, failed_results, check_streak, last_failed_at, first_seen_at, owner)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (agent_id) DO UPDATE SET status = EXCLUDED.status, name = EXCLUDED.name, mode = EXCLUDED.mode,
       capabilities = EXCLUDED.capabilities, reason = EXCLUDED.reason, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq,
       updated_at = EXCLUDED.updated_at, approved_by = EXCLUDED.approved_by, checked_results = EXCLUDED.checked_results,
       failed_results = EXCLUDED.failed_results, check_streak = EXCLUDED.check_streak, last_failed_at = EXCLUDED.last_failed_at,
       owner = EXCLUDED.owner`,
    storableParams([
      row.id,
      s.status,
      profile?.name ?? null,
      profile?.mode ?? null,
      profile ? JSON.stringify(profile.capabilities) : null,
      s.status === "blacklisted" ? s.reason : null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
      s.status === "approved" ? s.approvedBy : null,
      record.checked,
      record.failed,
      record.streak,
      record.lastFailedAt ?? null,
      row.firstAt,
      profile?.owner ?? null,
    ]),
  );
}

/** Agents as a read model: registration, approval, blacklist and the record of checked results, folded with the agent decider. */
export const agentsProjector = foldedRowsProjector({
  name: "agents",
  version: 2,
  streams: [agentsContext.stream],
  registry: eventRegistry(...agentsContext.events),
  kinds: [{ table: "agents", idColumn: "agent_id", of: agentAggregate, write: writeAgent } satisfies FoldedKind<Agent> as FoldedKind<unknown>],
});
