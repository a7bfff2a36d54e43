import type { PoolClient } from "pg";
import { foldCommit } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { subtaskDecider, type Subtask } from "../../domain/tasks/subtask.js";
import { subtaskEventSpecs, type SubtaskEvent } from "../../domain/tasks/subtaskEvents.js";
import { taskDecider, type Task } from "../../domain/tasks/task.js";
import { taskEventSpecs, type TaskEvent } from "../../domain/tasks/taskEvents.js";
import type { ProjectedCommit, Projector, Rejection } from "../projector.js";

type Kind = "task" | "subtask";
interface Row {
  readonly kind: Kind;
  readonly id: string;
  readonly state: Task | Subtask;
  readonly lastSeq: number;
  readonly updatedAt: string;
}

const CACHED_ROWS = 20_000;
const kindOf = (commit: ProjectedCommit): Kind => (commit.events[0]!.type.startsWith("subtask.") ? "subtask" : "task");
const keyOf = (kind: Kind, id: string) => `${kind}:${id}`;

async function load(db: PoolClient, kind: Kind, ids: string[], into: Map<string, Row>): Promise<void> {
  const [table, column] = kind === "task" ? ["tasks", "task_id"] : ["subtasks", "subtask_id"];
  const rows = await db.query<{ id: string; state: Task | Subtask; last_seq: number; updated_at: Date }>(
    `SELECT ${column} AS id, state, last_seq, updated_at FROM ${table} WHERE ${column} = ANY($1)`,
    [ids],
  );
  for (const r of rows.rows) {
    into.set(keyOf(kind, r.id), { kind, id: r.id, state: r.state, lastSeq: Number(r.last_seq), updatedAt: r.updated_at.toISOString() });
  }
}

async function writeTask(db: PoolClient, row: Row, s: Task): Promise<void> {
  const request = s.status === "none" ? undefined : s.request;
  await db.query(
    `INSERT INTO tasks (task_id, status, submitter, language, prompt, subtask_count, finished_count, output, reason, state, last_seq, updated_at, code)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, submitter = EXCLUDED.submitter, language = EXCLUDED.language,
       prompt = EXCLUDED.prompt, subtask_count = EXCLUDED.subtask_count, finished_count = EXCLUDED.finished_count,
       output = EXCLUDED.output, reason = EXCLUDED.reason, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq,
       updated_at = EXCLUDED.updated_at, code = EXCLUDED.code`,
    [
      row.id,
      s.status,
      request?.submitter ?? null,
      request?.language ?? null,
      request?.prompt ?? null,
      s.status === "running" ? s.subtasks.length : s.status === "completed" || s.status === "failed" ? s.subtaskCount : 0,
      s.status === "running" ? Object.keys(s.finished).length : s.status === "completed" || s.status === "failed" ? s.subtaskCount : 0,
      s.status === "completed" ? s.output : null,
      s.status === "failed" ? s.reason : null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
      s.status === "completed" ? s.code : null,
    ],
  );
}

async function writeSubtask(db: PoolClient, row: Row, s: Subtask): Promise<void> {
  const spec = s.status === "none" ? undefined : s.spec;
  await db.query(
    `INSERT INTO subtasks (subtask_id, task_id, index, status, attempts, agent_id, lease_expires_at, state, last_seq, updated_at,
       language, priority, resource_class, requested_model, timeout_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (subtask_id) DO UPDATE SET task_id = EXCLUDED.task_id, index = EXCLUDED.index, status = EXCLUDED.status,
       attempts = EXCLUDED.attempts, agent_id = EXCLUDED.agent_id, lease_expires_at = EXCLUDED.lease_expires_at,
       state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at, language = EXCLUDED.language,
       priority = EXCLUDED.priority, resource_class = EXCLUDED.resource_class, requested_model = EXCLUDED.requested_model,
       timeout_ms = EXCLUDED.timeout_ms`,
    [
      row.id,
      spec?.taskId ?? null,
      spec?.index ?? null,
      s.status,
      s.status === "none" ? 0 : s.attempts,
      s.status === "assigned" ? s.lease.agentId : s.status === "completed" ? s.agentId : null,
      s.status === "assigned" ? s.lease.expiresAt : null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
      spec?.language ?? null,
      spec?.priority ?? null,
      spec?.resourceClass ?? null,
      spec?.requestedModel ?? null,
      spec?.timeoutMs ?? null,
    ],
  );
}

/**
 * Tasks and subtasks as read models. Each commit is folded onto the aggregate's stored state with
 * the domain's own deciders, so a row never shows a transition the aggregate would refuse (such a
 * commit is quarantined). Idempotent by position: a commit at or before a row's last sequence was
 * applied already. Task volumes are small, so rows are written one statement each on flush.
 */
export const tasksProjector: Projector = {
  name: "tasks",
  version: 1,
  streams: ["EC_TASKS"],
  registry: eventRegistry(...taskEventSpecs, ...subtaskEventSpecs),
  tables: ["tasks", "subtasks"],
  open(db) {
    const rows = new Map<string, Row>();
    const dirty = new Set<string>();
    return {
      async apply(commits) {
        for (const kind of ["task", "subtask"] as const) {
          const ids = [...new Set(commits.filter((c) => kindOf(c) === kind).map((c) => aggregateIdOf(c.subject)))];
          const missing = ids.filter((id) => !rows.has(keyOf(kind, id)));
          if (missing.length > 0) await load(db, kind, missing, rows);
        }
        const rejections: Rejection[] = [];
        for (const commit of commits) {
          const kind = kindOf(commit);
          const id = aggregateIdOf(commit.subject);
          const row = rows.get(keyOf(kind, id));
          if (row && commit.seq <= row.lastSeq) continue;
          const drafts = commit.events.map((e) => ({ type: e.type, data: e.data }));
          const folded =
            kind === "task"
              ? foldCommit(taskDecider, (row?.state as Task | undefined) ?? taskDecider.initialState(), drafts as TaskEvent[])
              : foldCommit(subtaskDecider, (row?.state as Subtask | undefined) ?? subtaskDecider.initialState(), drafts as SubtaskEvent[]);
          if (!folded.ok) {
            rejections.push({ seq: commit.seq, eventId: commit.events[folded.index]!.id, reason: `${folded.code}: ${folded.message}` });
            continue;
          }
          rows.set(keyOf(kind, id), { kind, id, state: folded.state, lastSeq: commit.seq, updatedAt: commit.events.at(-1)!.time });
          dirty.add(keyOf(kind, id));
        }
        // A rebuild is one session: write out and forget rows now and then, so memory stays bounded.
        if (rows.size > CACHED_ROWS) {
          await flush();
          rows.clear();
        }
        return rejections;
      },
      flush,
    };

    async function flush() {
      for (const key of dirty) {
        const row = rows.get(key)!;
        if (row.kind === "task") await writeTask(db, row, row.state as Task);
        else await writeSubtask(db, row, row.state as Subtask);
      }
      dirty.clear();
    }
  },
};
