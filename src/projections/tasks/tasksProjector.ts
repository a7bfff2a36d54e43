import type { PoolClient } from "pg";
import { eventRegistry } from "../../domain/events/registry.js";
import { subtaskAggregate, taskAggregate, tasksContext } from "../../domain/tasks/context.js";
import type { Subtask } from "../../domain/tasks/subtask.js";
import type { Task } from "../../domain/tasks/task.js";
import { storableParams } from "../../adapters/postgres/storableText.js";
import { foldedRowsProjector, type FoldedKind, type FoldedRow } from "../foldedRows.js";

async function writeTask(db: PoolClient, row: FoldedRow<Task>): Promise<void> {
  const s = row.state;
  const request = s.status === "none" ? undefined : s.request;
  await db.query(
    `INSERT INTO tasks (task_id, status, submitter, language, prompt, subtask_count, finished_count, output, reason, state, last_seq, updated_at, code)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, submitter = EXCLUDED.submitter, language = EXCLUDED.language,
       prompt = EXCLUDED.prompt, subtask_count = EXCLUDED.subtask_count, finished_count = EXCLUDED.finished_count,
       output = EXCLUDED.output, reason = EXCLUDED.reason, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq,
       updated_at = EXCLUDED.updated_at, code = EXCLUDED.code`,
    storableParams([
      row.id,
      s.status,
      request?.submitter ?? null,
      request?.language ?? null,
      request?.prompt ?? null,
      s.status === "running" ? s.subtasks.length : s.status === "completed" || s.status === "failed" ? s.subtaskCount : 0,
      s.status === "running" ? Object.keys(s.finished).length : s.status === "completed" || s.status === "failed" ? s.subtaskCount : 0,
      // Only tasks completed before results moved to their subtasks carry their output here.
      s.status === "completed" ? (s.output ?? null) : null,
      s.status === "failed" ? s.reason : null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
      s.status === "completed" ? (s.code ?? null) : null,
    ]),
  );
}

async function writeSubtask(db: PoolClient, row: FoldedRow<Subtask>): Promise<void> {
  const s = row.state;
  const spec = s.status === "none" ? undefined : s.spec;
  await db.query(
    `INSERT INTO subtasks (subtask_id, task_id, index, status, attempts, agent_id, lease_expires_at, state, last_seq, updated_at,
       language, priority, resource_class, requested_model, timeout_ms, tried_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (subtask_id) DO UPDATE SET task_id = EXCLUDED.task_id, index = EXCLUDED.index, status = EXCLUDED.status,
       attempts = EXCLUDED.attempts, agent_id = EXCLUDED.agent_id, lease_expires_at = EXCLUDED.lease_expires_at,
       state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at, language = EXCLUDED.language,
       priority = EXCLUDED.priority, resource_class = EXCLUDED.resource_class, requested_model = EXCLUDED.requested_model,
       timeout_ms = EXCLUDED.timeout_ms, tried_by = EXCLUDED.tried_by`,
    storableParams([
      row.id,
      spec?.taskId ?? null,
      spec?.index ?? null,
      s.status,
      s.status === "none" ? 0 : s.attempts,
      s.status === "assigned" ? s.lease.agentId : s.status === "completed" ? s.agentId : s.status === "checking" ? s.report.agentId : null,
      s.status === "assigned" ? s.lease.expiresAt : null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
      spec?.language ?? null,
      spec?.priority ?? null,
      spec?.resourceClass ?? null,
      spec?.requestedModel ?? null,
      spec?.timeoutMs ?? null,
      "triedBy" in s && s.triedBy ? [...s.triedBy] : [],
    ]),
  );
}

/** Tasks and subtasks as read models: each row is its aggregate folded with the domain's deciders. */
export const tasksProjector = foldedRowsProjector({
  name: "tasks",
  version: 1,
  streams: [tasksContext.stream],
  registry: eventRegistry(...tasksContext.events),
  kinds: [
    { table: "tasks", idColumn: "task_id", of: taskAggregate, write: writeTask } satisfies FoldedKind<Task>,
    { table: "subtasks", idColumn: "subtask_id", of: subtaskAggregate, write: writeSubtask } satisfies FoldedKind<Subtask>,
  ] as FoldedKind<unknown>[],
});
