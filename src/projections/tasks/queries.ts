import type { ClaimFilter } from "../../domain/agents/eligibility.js";
import type { Subtask } from "../../domain/tasks/subtask.js";
import type { Task } from "../../domain/tasks/task.js";
import { microsOf, pageOf, timeOfMicros, type CursorKey, type Db, type Page } from "../keyset.js";

/**
 * The reads of the tasks projection (tables tasks and subtasks): every query the gateways and
 * use cases make of it, each answering typed objects. The projection lags the streams by a
 * moment; a caller that must decide (claim, revoke, resolve) sends a command, whose decider
 * reads the stream itself.
 */

export type TaskStatus = Exclude<Task["status"], "none">;
export type SubtaskStatus = Exclude<Subtask["status"], "none">;

/** A task as listed: its display columns (text with NULs shown as U+2400). */
export interface TaskSummary {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly prompt: string | null;
  readonly language: string | null;
  readonly subtaskCount: number;
  readonly finishedCount: number;
  readonly updatedAt: Date;
}

/** A task with its state exactly as folded. */
export interface TaskView extends TaskSummary {
  readonly state: Task;
}

interface TaskSummaryRow {
  task_id: string;
  status: TaskStatus;
  prompt: string | null;
  language: string | null;
  subtask_count: number;
  finished_count: number;
  updated_at: Date;
}
const SUMMARY_COLUMNS = "task_id, status, prompt, language, subtask_count, finished_count, updated_at";
const taskSummary = (r: TaskSummaryRow): TaskSummary => ({
  taskId: r.task_id,
  status: r.status,
  prompt: r.prompt,
  language: r.language,
  subtaskCount: r.subtask_count,
  finishedCount: r.finished_count,
  updatedAt: r.updated_at,
});

export async function taskById(db: Db, taskId: string): Promise<TaskView | undefined> {
  const row = (await db.query<TaskSummaryRow & { state: Task }>(`SELECT ${SUMMARY_COLUMNS}, state FROM tasks WHERE task_id = $1`, [taskId])).rows[0];
  return row && { ...taskSummary(row), state: row.state };
}

/**
 * Newest first. A task that changes during a walk moves to its front (it is newer now), so that
 * walk may miss it; tasks submitted during it are never served twice.
 */
export async function recentTasks(db: Db, opts: { status?: TaskStatus | undefined; before?: CursorKey | undefined; limit: number }): Promise<Page<TaskSummary>> {
  const { rows } = await db.query<TaskSummaryRow & { cursor_at: string }>(
    `SELECT ${SUMMARY_COLUMNS}, ${microsOf("updated_at")} AS cursor_at FROM tasks
      WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR (updated_at, task_id) < (${timeOfMicros("$2")}, $3::text))
      ORDER BY updated_at DESC, task_id DESC LIMIT $4`,
    [opts.status ?? null, opts.before?.[0] ?? null, opts.before?.[1] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.cursor_at, r.task_id], taskSummary);
}

/** A task's subtask as its status shows it. */
export interface SubtaskSummary {
  readonly subtaskId: string;
  readonly index: number | null;
  readonly status: SubtaskStatus;
  readonly attempts: number;
  readonly agentId: string | null;
}

/** The task's subtasks in plan order. */
export async function subtasksOfTask(db: Db, taskId: string): Promise<SubtaskSummary[]> {
  const { rows } = await db.query<{ subtask_id: string; index: number | null; status: SubtaskStatus; attempts: number; agent_id: string | null }>(
    "SELECT subtask_id, index, status, attempts, agent_id FROM subtasks WHERE task_id = $1 ORDER BY index",
    [taskId],
  );
  return rows.map((s) => ({ subtaskId: s.subtask_id, index: s.index, status: s.status, attempts: s.attempts, agentId: s.agent_id }));
}

/** A subtask's state exactly as folded. */
export interface SubtaskState {
  readonly subtaskId: string;
  readonly state: Subtask;
}

/** The task's subtasks as folded: where its code and output are (stored once, on the subtasks). */
export async function subtaskStatesOfTask(db: Db, taskId: string): Promise<SubtaskState[]> {
  const { rows } = await db.query<{ subtask_id: string; state: Subtask }>("SELECT subtask_id, state FROM subtasks WHERE task_id = $1", [taskId]);
  return rows.map((r) => ({ subtaskId: r.subtask_id, state: r.state }));
}

/** A subtask with what the escalation routes show of it. */
export interface SubtaskView {
  readonly subtaskId: string;
  readonly taskId: string | null;
  readonly status: SubtaskStatus;
  readonly attempts: number;
  readonly state: Subtask;
}
interface SubtaskViewRow {
  subtask_id: string;
  task_id: string | null;
  status: SubtaskStatus;
  attempts: number;
  state: Subtask;
}
const subtaskView = (r: SubtaskViewRow): SubtaskView => ({ subtaskId: r.subtask_id, taskId: r.task_id, status: r.status, attempts: r.attempts, state: r.state });

export async function subtaskById(db: Db, subtaskId: string): Promise<SubtaskView | undefined> {
  const row = (await db.query<SubtaskViewRow>("SELECT subtask_id, task_id, status, attempts, state FROM subtasks WHERE subtask_id = $1", [subtaskId])).rows[0];
  return row && subtaskView(row);
}

export async function subtaskExists(db: Db, subtaskId: string): Promise<boolean> {
  return ((await db.query("SELECT 1 FROM subtasks WHERE subtask_id = $1", [subtaskId])).rowCount ?? 0) > 0;
}

/**
 * Subtasks that failed their local tries or wait for a person, oldest first, as a queue is
 * worked. A subtask that moves on during a walk (a step tried, a person's answer) leaves it or
 * comes again at its end.
 */
export async function openEscalations(db: Db, opts: { after?: CursorKey | undefined; limit: number }): Promise<Page<SubtaskView>> {
  const { rows } = await db.query<SubtaskViewRow & { cursor_at: string }>(
    `SELECT subtask_id, task_id, status, attempts, state, ${microsOf("updated_at")} AS cursor_at FROM subtasks
      WHERE status IN ('escalated', 'awaitingHuman') AND ($1::bigint IS NULL OR (updated_at, subtask_id) > (${timeOfMicros("$1")}, $2::text))
      ORDER BY updated_at, subtask_id LIMIT $3`,
    [opts.after?.[0] ?? null, opts.after?.[1] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.cursor_at, r.subtask_id], subtaskView);
}

/** The subtasks the projection shows leased to the agent (live or run out). */
export async function subtasksAssignedTo(db: Db, agentId: string): Promise<string[]> {
  const { rows } = await db.query<{ subtask_id: string }>("SELECT subtask_id FROM subtasks WHERE agent_id = $1 AND status = 'assigned'", [agentId]);
  return rows.map((r) => r.subtask_id);
}

/** A lease as the projection shows it: whether it is live and counts, at which stream version. */
export interface ProjectedLease {
  readonly subtaskId: string;
  readonly live: boolean;
  readonly version: number;
}
type ProjectedLeaseRow = { subtask_id: string; live: boolean; last_seq: number };
const projectedLease = (r: ProjectedLeaseRow): ProjectedLease => ({ subtaskId: r.subtask_id, live: r.live, version: Number(r.last_seq) });

/** The agent's live leases, and how the projection shows the subtasks in `also` (whose leases this coordinator touched lately). */
export async function agentLeases(db: Db, agentId: string, also: readonly string[]): Promise<ProjectedLease[]> {
  const { rows } = await db.query<ProjectedLeaseRow>(
    `SELECT subtask_id, (agent_id = $1 AND status = 'assigned' AND lease_expires_at > now()) AS live, last_seq FROM subtasks
      WHERE (agent_id = $1 AND status = 'assigned' AND lease_expires_at > now()) OR subtask_id = ANY($2)`,
    [agentId, also],
  );
  return rows.map(projectedLease);
}

/** The same for all agents of one owner account. */
export async function ownerLeases(db: Db, owner: string, also: readonly string[]): Promise<ProjectedLease[]> {
  const { rows } = await db.query<ProjectedLeaseRow>(
    `SELECT s.subtask_id, (a.owner IS NOT DISTINCT FROM $1 AND s.status = 'assigned' AND s.lease_expires_at > now()) AS live, s.last_seq
       FROM subtasks s LEFT JOIN agents a ON a.agent_id = s.agent_id
      WHERE (a.owner = $1 AND s.status = 'assigned' AND s.lease_expires_at > now()) OR s.subtask_id = ANY($2)`,
    [owner, also],
  );
  return rows.map(projectedLease);
}

/** A subtask that may be claimed, with its projected state and the stream version of that state. */
export interface ClaimCandidate {
  readonly subtaskId: string;
  /** Candidates of equal rank are as good as each other (the ordering's key before age). */
  readonly rank: string;
  readonly state: Subtask;
  readonly version: number;
  /** When its last event was recorded: for a queued subtask, since when it waits. */
  readonly updatedAt: Date;
}

/**
 * Subtasks an agent could claim, best first: queued ones and those whose lease ran out. Order:
 * the agent's model was asked for, then subtasks `forAgent` tried before without a result after
 * all others, then priority, then age. `exclude`: subtasks this coordinator just claimed or lost,
 * which the projection may not show yet. An index scan of subtasks_claimable.
 */
export async function claimCandidates(db: Db, filter: ClaimFilter, opts: { limit: number; exclude: readonly string[]; forAgent: string | null }): Promise<ClaimCandidate[]> {
  const { rows } = await db.query<{ subtask_id: string; rank: string; state: Subtask; last_seq: string; updated_at: Date }>(
    `SELECT subtask_id, (requested_model IS NOT NULL)::text || ':' || ($8::text IS NOT NULL AND $8 = ANY(tried_by))::text || ':' || priority AS rank,
            state, last_seq, updated_at FROM subtasks
      WHERE (status = 'queued' OR (status = 'assigned' AND lease_expires_at < now()))
        AND language = ANY($1) AND resource_class = ANY($2)
        AND (requested_model IS NULL OR requested_model = ANY($3))
        AND ($4::integer IS NULL OR timeout_ms <= $4)
        AND ($5 OR state->'spec'->>'sandboxRequired' = 'false')
        AND subtask_id <> ALL($7)
      ORDER BY (requested_model IS NOT NULL) DESC, ($8::text IS NOT NULL AND $8 = ANY(tried_by)), priority DESC, updated_at
      LIMIT $6`,
    [filter.languages, filter.resourceClasses, filter.models, filter.maxTimeoutMs ?? null, filter.sandboxed, opts.limit, opts.exclude, opts.forAgent],
  );
  return rows.map((r) => ({ subtaskId: r.subtask_id, rank: r.rank, state: r.state, version: Number(r.last_seq), updatedAt: r.updated_at }));
}

/** An open lease, for the reaper: when it runs out, and whose it is. */
export interface OpenLease {
  readonly subtaskId: string;
  readonly agentId: string;
  readonly leaseExpiresAt: Date;
  readonly leaseId: string;
}

export async function openLeases(db: Db): Promise<OpenLease[]> {
  const { rows } = await db.query<{ subtask_id: string; agent_id: string; lease_expires_at: Date; lease_id: string }>(
    "SELECT subtask_id, agent_id, lease_expires_at, state->'lease'->>'leaseId' AS lease_id FROM subtasks WHERE status = 'assigned'",
  );
  return rows.map((r) => ({ subtaskId: r.subtask_id, agentId: r.agent_id, leaseExpiresAt: r.lease_expires_at, leaseId: r.lease_id }));
}

/** The agent's latest completed results taken unchecked, newest first: what a caught agent has checked again. */
export async function uncheckedResultsOf(db: Db, agentId: string, limit: number): Promise<SubtaskState[]> {
  const { rows } = await db.query<{ subtask_id: string; state: Subtask }>(
    `SELECT subtask_id, state FROM subtasks WHERE status = 'completed' AND agent_id = $1 AND (state->>'checked') = 'false'
      ORDER BY updated_at DESC LIMIT $2`,
    [agentId, limit],
  );
  return rows.map((r) => ({ subtaskId: r.subtask_id, state: r.state }));
}

/** Whether any subtask waits for an agent (the status index answers it). */
export async function anyQueued(db: Db): Promise<boolean> {
  return ((await db.query("SELECT 1 FROM subtasks WHERE status = 'queued' LIMIT 1")).rowCount ?? 0) > 0;
}
