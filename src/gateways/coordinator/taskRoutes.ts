import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { systemClock } from "../../app/clock.js";
import { isRefusal, type HandleCommand } from "../../app/commands.js";
import type { CreditCommand } from "../../domain/credits/commands.js";
import { LOCAL_ACCOUNT } from "../../app/credits/nodeAccounts.js";
import { submitTask } from "../../app/tasks/submitTask.js";
import { taskReads } from "../../app/tasks/taskReads.js";
import { AggregateId } from "../../domain/events/envelope.js";
import type { TaskCommand } from "../../domain/tasks/task.js";
import { TaskRequest } from "../../domain/tasks/taskEvents.js";
import type { Db } from "../../projections/keyset.js";
import type { TaskSummary as TaskSummaryView } from "../../projections/tasks/queries.js";
import { Cursor, encodeNext, Micros, PageLimit } from "../paging.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, ROUTE_ERRORS } from "../replies.js";

export interface TaskRoutesDeps {
  readonly pool: Db;
  readonly handleTask: HandleCommand<TaskCommand>;
  /** Holds each task's cost on its submitter's account; none (the bench's unpaid node only): tasks cost nothing. */
  readonly handleCredit?: HandleCommand<CreditCommand> | undefined;
  /** The model a task runs on when it asks for none (what its hold is priced by). */
  readonly defaultModel: string;
  /** What a credit costs in sats now (the CPU network price): the hold's value is answered in sats too. */
  readonly satsPerCredit?: (() => Promise<number>) | undefined;
  readonly now?: () => Date;
}

const SubmitBody = TaskRequest.extend({ submitter: AggregateId.default(LOCAL_ACCOUNT) });
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

const summary = (t: TaskSummaryView): z.infer<typeof TaskSummary> => ({ ...t, updatedAt: t.updatedAt.toISOString() });
const ADMIN_ERRORS = { ...ROUTE_ERRORS, ...AUTH_ERRORS };

/**
 * Tasks for users (CLI, IDE, portal): submit, list, status with subtasks, result. Reads come from
 * the tasks projection, so a task just submitted may take a moment to appear (404 until then).
 */
export const taskRoutes: FastifyPluginAsyncZod<TaskRoutesDeps> = async (app, deps) => {
  const now = deps.now ?? systemClock;
  const submit = submitTask({ handleTask: deps.handleTask, ...(deps.handleCredit ? { handleCredit: deps.handleCredit } : {}), defaultModel: deps.defaultModel, now });
  const reads = taskReads(deps);
  const unknown = (taskId: string) => ({ error: "unknown_task", message: `no task ${taskId} (a task just submitted appears within a moment)` });

  app.post(
    "/submit",
    {
      schema: {
        body: SubmitBody,
        headers: IdempotencyHeaders,
        response: {
          202: z.object({
            taskId: z.string(),
            status: z.literal("submitted"),
            /** The most the task can cost, held on the submitter's account until it ends. */
            heldMillicredits: z.number().int(),
            /** The same at the current price of a credit (the CPU network price), rounded up; null when the price cannot be read. */
            heldSats: z.number().int().nullable(),
          }),
          402: ErrorReply.describe("the paying account (the submitter's) cannot cover the most the task can cost: insufficient_credits"),
          409: ErrorReply,
          ...ADMIN_ERRORS,
          ...BODY_ERRORS,
        },
      },
    },
    async (req, reply) => {
      const submitted = await submit(req.body, req.headers["idempotency-key"]);
      if (isRefusal(submitted)) return reply.code(402).send({ error: submitted.refused, message: submitted.message });
      const satsPerCredit = deps.satsPerCredit ? await deps.satsPerCredit().catch(() => undefined) : undefined;
      const heldSats = satsPerCredit === undefined ? null : Math.ceil((submitted.held * satsPerCredit) / 1000);
      return reply.code(202).send({ taskId: submitted.taskId, status: "submitted" as const, heldMillicredits: submitted.held, heldSats });
    },
  );

  app.get("/tasks", { schema: { querystring: ListQuery, response: { 200: z.object({ tasks: z.array(TaskSummary), next: z.string().nullable() }), ...ADMIN_ERRORS } } }, async (req) => {
    const page = await reads.list(req.query);
    return { tasks: page.items.map(summary), next: encodeNext(page) };
  });

  app.get(
    "/tasks/:taskId",
    { schema: { params: TaskParams, response: { 200: TaskSummary.extend({ subtasks: z.array(SubtaskSummary) }), 404: ErrorReply, ...ADMIN_ERRORS } } },
    async (req, reply) => {
      const task = await reads.status(req.params.taskId);
      if (!task) return reply.code(404).send(unknown(req.params.taskId));
      return { ...summary(task), subtasks: [...task.subtasks] };
    },
  );

  app.get("/tasks/:taskId/result", { schema: { params: TaskParams, response: { 200: TaskResult, 404: ErrorReply, ...ADMIN_ERRORS } } }, async (req, reply) => {
    const outcome = await reads.outcome(req.params.taskId);
    if (!outcome) return reply.code(404).send(unknown(req.params.taskId));
    return { ...outcome, subtasks: [...outcome.subtasks] };
  });
};
