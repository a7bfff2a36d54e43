import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { EscalationUnavailableError, type Escalator } from "../../domain/escalation/escalator.js";
import { EscalatedCode } from "../../domain/escalation/reply.js";
import { ESCALATION_BODY_LIMIT, EscalationRequest } from "../../domain/escalation/request.js";
import { AggregateId } from "../../domain/events/envelope.js";
import { subtaskSubject, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import { ESCALATION_DATA } from "../dataFields.js";
import { Cursor, Micros, microsOf, PageLimit, pageOf, timeOfMicros } from "../paging.js";

export interface EscalationRoutesDeps {
  readonly pool: pg.Pool;
  readonly handleSubtask: (subject: string, command: SubtaskCommand, meta: CommandMeta) => Promise<HandledCommand>;
  /** What this coordinator asks when a child coordinator escalates to it (its own inference service). */
  readonly escalator?: Escalator;
  readonly now?: () => Date;
}

const ErrorReply = z.object({ error: z.string(), message: z.string() });
const Params = z.object({ subtaskId: AggregateId });
/** `after`: the `next` of the previous page. */
const ListQuery = z.object({ limit: PageLimit(50, 200), after: Cursor(Micros, AggregateId).optional() });
const Text = z.string().max(256 * 1024);
const Resolution = z.union([
  z.object({ code: Text.min(1), output: Text.default(""), by: z.string().min(1).max(200).default("operator") }),
  z.object({ abandon: z.string().min(1).max(2_000), by: z.string().min(1).max(200).default("operator") }),
]);
const Escalation = z.object({
  subtaskId: z.string(),
  taskId: z.string().nullable(),
  status: z.string(),
  attempts: z.number(),
  input: z.string().nullable(),
  language: z.string().nullable(),
  reason: z.string().nullable(),
  tried: z.array(z.string()),
});

interface Row {
  subtask_id: string;
  task_id: string | null;
  status: string;
  attempts: number;
  state: { spec?: { input: string; language: string }; reason?: string; tried?: string[] };
}
const escalation = (r: Row) => ({
  subtaskId: r.subtask_id,
  taskId: r.task_id,
  status: r.status,
  attempts: r.attempts,
  input: r.state.spec?.input ?? null,
  language: r.state.spec?.language ?? null,
  reason: r.state.reason ?? null,
  tried: r.state.tried ?? [],
});

/**
 * Escalations (admin token): the subtasks that failed their local tries, the ones waiting for a
 * person, and the person's answer (working code, or giving up). POST /escalate is this
 * coordinator acting as a parent: a child sends a failed subtask, and gets code back from this
 * node's model.
 */
export const escalationRoutes: FastifyPluginAsyncZod<EscalationRoutesDeps> = async (app, deps) => {
  const now = deps.now ?? (() => new Date());

  app.get(
    "/escalate",
    { schema: { querystring: ListQuery, response: { 200: z.object({ escalations: z.array(Escalation), next: z.string().nullable() }) } } },
    async (req) => {
      const { limit, after } = req.query;
      // Oldest first, as a queue is worked. A subtask that moves on during a walk (a step tried,
      // a person's answer) leaves it or comes again at its end.
      const { rows } = await deps.pool.query<Row & { cursor_at: string }>(
        `SELECT subtask_id, task_id, status, attempts, state, ${microsOf("updated_at")} AS cursor_at FROM subtasks
          WHERE status IN ('escalated', 'awaitingHuman') AND ($1::bigint IS NULL OR (updated_at, subtask_id) > (${timeOfMicros("$1")}, $2::text))
          ORDER BY updated_at, subtask_id LIMIT $3`,
        [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
      );
      const page = pageOf(rows, limit, (r) => [r.cursor_at, r.subtask_id]);
      return { escalations: page.rows.map(escalation), next: page.next };
    },
  );

  app.get("/escalate/:subtaskId", { schema: { params: Params, response: { 200: Escalation, 404: ErrorReply } } }, async (req, reply) => {
    const row = (await deps.pool.query<Row>("SELECT subtask_id, task_id, status, attempts, state FROM subtasks WHERE subtask_id = $1", [req.params.subtaskId])).rows[0];
    if (!row) return reply.code(404).send({ error: "unknown_subtask", message: `no subtask ${req.params.subtaskId}` });
    return escalation(row);
  });

  app.post(
    "/escalate/:subtaskId/result",
    { schema: { params: Params, body: Resolution, response: { 200: z.object({ events: z.array(z.string()) }), 404: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      const exists = (await deps.pool.query("SELECT 1 FROM subtasks WHERE subtask_id = $1", [req.params.subtaskId])).rowCount;
      if (!exists) return reply.code(404).send({ error: "unknown_subtask", message: `no subtask ${req.params.subtaskId}` });
      const body = req.body;
      const command: SubtaskCommand =
        "abandon" in body
          ? { kind: "abandon", by: body.by, reason: body.abandon }
          : { kind: "resolve", via: "human", by: body.by, code: body.code, output: body.output };
      const done = await deps.handleSubtask(subtaskSubject(req.params.subtaskId), command, { now: now() });
      return { events: done.events.map((e) => e.type) };
    },
  );

  app.post(
    "/escalate",
    { bodyLimit: ESCALATION_BODY_LIMIT, config: { data: ESCALATION_DATA }, schema: { body: EscalationRequest, response: { 200: EscalatedCode, 503: ErrorReply } } },
    async (req, reply) => {
      if (!deps.escalator) return reply.code(503).send({ error: "escalation_unavailable", message: "this coordinator has no model to escalate to" });
      try {
        const answer = await deps.escalator.escalate(req.body);
        return { code: answer.code, model: answer.model };
      } catch (err) {
        if (err instanceof EscalationUnavailableError) return reply.code(503).send({ error: "escalation_unavailable", message: err.message });
        throw err;
      }
    },
  );
};
