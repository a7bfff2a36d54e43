import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { AggregateId } from "../../domain/events/envelope.js";
import type { Subtask } from "../../domain/tasks/subtask.js";
import { taskChecked, taskResult, taskSubject, type Task, type TaskCommand } from "../../domain/tasks/task.js";
import { TaskRequest } from "../../domain/tasks/taskEvents.js";
import { Cursor, Micros, microsOf, PageLimit, pageOf, timeOfMicros } from "../paging.js";

export interface TaskRoutesDeps {
  readonly pool: pg.Pool;
  readonly handleTask: (subject: string, command: TaskCommand, meta: CommandMeta) => Promise<HandledCommand>;
  readonly now?: () => Date;
}

const ErrorReply = z.object({ error: z.string(), message: z.string() });
const SubmitBody = TaskRequest.extend({ submitter: AggregateId.default("local") });
const TaskParams = z.object({ taskId: AggregateId });
const ListQuery = z.object({
  status: z.enum(["submitted", "running", "completed", "failed"]).optional(),
  limit: PageLimit(20, 200),
  /** The `next` of the previous page. */
  before: Cursor(Micros, AggregateId).optional(),
});
const IdempotencyHeaders = z.object({ "idempotency-key": z.uuid().optional() });

const TaskSummary = z.object({
  taskId: z.string(),
  status: z.string(),
  prompt: z.string().nullable(),
  language: z.string().nullable(),
  subtaskCount: z.number(),
  finishedCount: z.number(),
  updatedAt: z.string(),
});
const SubtaskSummary = z.object({
  subtaskId: z.string(),
  index: z.number().nullable(),
  status: z.string(),
  attempts: z.number(),
  agentId: z.string().nullable(),
});
const TaskResult = z.object({
  taskId: z.string(),
  status: z.string(),
  done: z.boolean(),
  code: z.string().nullable(),
  output: z.string().nullable(),
  reason: z.string().nullable(),
  /** Every subtask's result was checked: this coordinator ran its code and saw the same output. */
  checked: z.boolean(),
  /** Per subtask, in plan order: whether its result was checked (false: taken on trust by the sampling policy). */
  subtasks: z.array(z.object({ subtaskId: z.string(), index: z.number(), checked: z.boolean() })),
});

interface TaskRow {
  task_id: string;
  status: string;
  prompt: string | null;
  language: string | null;
  subtask_count: number;
  finished_count: number;
  updated_at: Date;
  reason: string | null;
  /** The task exactly as folded; its text columns are display copies (NULs shown as U+2400). */
  state: Task;
}
const summary = (r: TaskRow) => ({
  taskId: r.task_id,
  status: r.status,
  prompt: r.prompt,
  language: r.language,
  subtaskCount: r.subtask_count,
  finishedCount: r.finished_count,
  updatedAt: r.updated_at.toISOString(),
});

/**
 * Tasks for users (CLI, IDE, portal): submit, list, status with subtasks, result. Submission
 * appends task.submitted; decomposition and everything after happen on the bus. Reads come from
 * the tasks projection, so a task just submitted may take a moment to appear (404 until then).
 */
export const taskRoutes: FastifyPluginAsyncZod<TaskRoutesDeps> = async (app, deps) => {
  const now = deps.now ?? (() => new Date());
  const taskRow = async (taskId: string) =>
    (await deps.pool.query<TaskRow>("SELECT * FROM tasks WHERE task_id = $1", [taskId])).rows[0];
  const unknown = (taskId: string) => ({ error: "unknown_task", message: `no task ${taskId} (a task just submitted appears within a moment)` });

  app.post(
    "/submit",
    { schema: { body: SubmitBody, headers: IdempotencyHeaders, response: { 202: z.object({ taskId: z.string(), status: z.literal("submitted") }) } } },
    async (req, reply) => {
      // With an Idempotency-Key a retried submission names the same task and appends nothing new.
      const key = req.headers["idempotency-key"];
      const taskId = key ?? randomUUID();
      await deps.handleTask(taskSubject(taskId), { kind: "submit", request: req.body }, { now: now(), commandId: `submit:${taskId}` }).catch((err: unknown) => {
        if (key && err instanceof DomainRuleViolation && err.code === "already_submitted") return;
        throw err;
      });
      return reply.code(202).send({ taskId, status: "submitted" as const });
    },
  );

  app.get("/tasks", { schema: { querystring: ListQuery, response: { 200: z.object({ tasks: z.array(TaskSummary), next: z.string().nullable() }) } } }, async (req) => {
    const { status, limit, before } = req.query;
    // Newest first. A task that changes during a walk moves to its front (it is newer now), so
    // that walk may miss it; tasks submitted during it are never served twice.
    const { rows } = await deps.pool.query<TaskRow & { cursor_at: string }>(
      `SELECT *, ${microsOf("updated_at")} AS cursor_at FROM tasks
        WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR (updated_at, task_id) < (${timeOfMicros("$2")}, $3::text))
        ORDER BY updated_at DESC, task_id DESC LIMIT $4`,
      [status ?? null, before?.[0] ?? null, before?.[1] ?? null, limit + 1],
    );
    const page = pageOf(rows, limit, (r) => [r.cursor_at, r.task_id]);
    return { tasks: page.rows.map(summary), next: page.next };
  });

  app.get(
    "/tasks/:taskId",
    { schema: { params: TaskParams, response: { 200: TaskSummary.extend({ subtasks: z.array(SubtaskSummary) }), 404: ErrorReply } } },
    async (req, reply) => {
      const row = await taskRow(req.params.taskId);
      if (!row) return reply.code(404).send(unknown(req.params.taskId));
      const subtasks = await deps.pool.query<{ subtask_id: string; index: number | null; status: string; attempts: number; agent_id: string | null }>(
        "SELECT subtask_id, index, status, attempts, agent_id FROM subtasks WHERE task_id = $1 ORDER BY index",
        [req.params.taskId],
      );
      return {
        ...summary(row),
        subtasks: subtasks.rows.map((s) => ({ subtaskId: s.subtask_id, index: s.index, status: s.status, attempts: s.attempts, agentId: s.agent_id })),
      };
    },
  );

  app.get("/tasks/:taskId/result", { schema: { params: TaskParams, response: { 200: TaskResult, 404: ErrorReply } } }, async (req, reply) => {
    const row = await taskRow(req.params.taskId);
    if (!row) return reply.code(404).send(unknown(req.params.taskId));
    const done = row.status === "completed" || row.status === "failed";
    const task = row.state;
    // The task holds its plan and outcomes; the code and output are its subtasks', stored once.
    const { rows } = await deps.pool.query<{ subtask_id: string; state: Subtask }>("SELECT subtask_id, state FROM subtasks WHERE task_id = $1", [row.task_id]);
    const results = Object.fromEntries(rows.map((r) => [r.subtask_id, "result" in r.state ? r.state.result : undefined]));
    const combined = taskResult(task, results);
    const plan = task.status === "running" || task.status === "completed" || task.status === "failed" ? (task.subtasks ?? []) : [];
    const finished = task.status === "running" || task.status === "completed" || task.status === "failed" ? (task.finished ?? {}) : {};
    return {
      taskId: row.task_id,
      status: row.status,
      done,
      code: combined?.code ?? null,
      output: combined?.output ?? null,
      reason: task.status === "failed" ? task.reason : null,
      checked: taskChecked(task),
      subtasks: [...plan].sort((a, b) => a.index - b.index).map((p) => ({ subtaskId: p.subtaskId, index: p.index, checked: finished[p.subtaskId]?.checked === true })),
    };
  });
};
