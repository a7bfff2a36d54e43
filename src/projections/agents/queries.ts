import type { Agent } from "../../domain/agents/agent.js";
import type { AgentRecord } from "../../domain/agents/record.js";
import { microsOf, pageOf, timeOfMicros, type CursorKey, type Db, type Page } from "../keyset.js";

/** The reads of the agents projection (table agents), each answering typed objects. */

export type AgentStatus = Exclude<Agent["status"], "none">;

/** The agent exactly as folded, and the stream version that state is of. */
export interface AgentState {
  readonly state: Agent;
  readonly version: number;
}

export async function agentById(db: Db, agentId: string): Promise<AgentState | undefined> {
  const row = (await db.query<{ state: Agent; last_seq: number }>("SELECT state, last_seq FROM agents WHERE agent_id = $1", [agentId])).rows[0];
  return row && { state: row.state, version: Number(row.last_seq) };
}

export async function agentExists(db: Db, agentId: string): Promise<boolean> {
  return ((await db.query("SELECT 1 FROM agents WHERE agent_id = $1", [agentId])).rowCount ?? 0) > 0;
}

/** The agent's status, and when its last event was recorded. */
export async function agentStatus(db: Db, agentId: string): Promise<{ status: AgentStatus; updatedAt: Date } | undefined> {
  const row = (await db.query<{ status: AgentStatus; updated_at: Date }>("SELECT status, updated_at FROM agents WHERE agent_id = $1", [agentId])).rows[0];
  return row && { status: row.status, updatedAt: row.updated_at };
}

/** An agent as operators list them. */
export interface AgentSummary {
  readonly agentId: string;
  readonly status: AgentStatus;
  readonly name: string | null;
  readonly mode: string | null;
  /** As registered (AgentCapabilities), kept as the event carried it. */
  readonly capabilities: unknown;
  readonly reason: string | null;
  readonly approvedBy: string | null;
  /** The credit account its work pays (null: its own id). */
  readonly owner: string | null;
  /** Its record of checked results: what its reliability is judged on. */
  readonly record: AgentRecord;
  readonly firstSeenAt: Date;
  readonly updatedAt: Date;
}

interface AgentSummaryRow {
  agent_id: string;
  status: AgentStatus;
  name: string | null;
  mode: string | null;
  capabilities: unknown;
  reason: string | null;
  approved_by: string | null;
  owner: string | null;
  checked_results: number;
  failed_results: number;
  check_streak: number;
  last_failed_at: Date | null;
  first_seen_at: Date;
  first_seen_cursor: string;
  updated_at: Date;
}
const agentSummary = (r: AgentSummaryRow): AgentSummary => ({
  agentId: r.agent_id,
  status: r.status,
  name: r.name,
  mode: r.mode,
  capabilities: r.capabilities,
  reason: r.reason,
  approvedBy: r.approved_by,
  owner: r.owner,
  record: { checked: r.checked_results, failed: r.failed_results, streak: r.check_streak, ...(r.last_failed_at ? { lastFailedAt: r.last_failed_at.toISOString() } : {}) },
  firstSeenAt: r.first_seen_at,
  updatedAt: r.updated_at,
});

/**
 * Oldest first, by when the agent was first seen: a key that never changes, so agents
 * registering during a walk come at its end and none is served twice.
 */
export async function agentsByFirstSeen(db: Db, opts: { status?: AgentStatus | undefined; after?: CursorKey | undefined; limit: number }): Promise<Page<AgentSummary>> {
  const { rows } = await db.query<AgentSummaryRow>(
    `SELECT agent_id, status, name, mode, capabilities, reason, approved_by, owner, checked_results, failed_results, check_streak, last_failed_at,
            first_seen_at, ${microsOf("first_seen_at")} AS first_seen_cursor, updated_at
       FROM agents
      WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR (first_seen_at, agent_id) > (${timeOfMicros("$2")}, $3::text))
      ORDER BY first_seen_at, agent_id
      LIMIT $4`,
    [opts.status ?? null, opts.after?.[0] ?? null, opts.after?.[1] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.first_seen_cursor, r.agent_id], agentSummary);
}
