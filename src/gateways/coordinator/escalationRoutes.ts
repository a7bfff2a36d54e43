import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { systemClock } from "../../app/clock.js";
import type { HandleCommand } from "../../app/commands.js";
import { escalations, type EscalationView } from "../../app/escalation/escalations.js";
import type { Escalator } from "../../domain/escalation/escalator.js";
import { EscalatedCode } from "../../domain/escalation/reply.js";
import { ESCALATION_BODY_LIMIT, EscalationRequest } from "../../domain/escalation/request.js";
import { AggregateId } from "../../domain/events/envelope.js";
import type { SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { Db } from "../../projections/keyset.js";
import { ESCALATION_DATA } from "../dataFields.js";
import { Cursor, encodeNext, Micros, PageLimit } from "../paging.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, EventsReply, ROUTE_ERRORS } from "../replies.js";

export interface EscalationRoutesDeps {
  readonly pool: Db;
  readonly handleSubtask: HandleCommand<SubtaskCommand>;
  /** What this coordinator asks when a child coordinator escalates to it (its own inference service). */
  readonly escalator?: Escalator;
  readonly now?: () => Date;
}

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

const escalation = (e: EscalationView): z.infer<typeof Escalation> => ({ ...e, tried: [...e.tried] });
const ADMIN_ERRORS = { ...ROUTE_ERRORS, ...AUTH_ERRORS };

/**
 * Escalations (admin token): the subtasks that failed their local tries, the ones waiting for a
 * person, and the person's answer (working code, or giving up). POST /escalate is this
 * coordinator acting as a parent: a child sends a failed subtask, and gets code back from this
 * node's model.
 */
export const escalationRoutes: FastifyPluginAsyncZod<EscalationRoutesDeps> = async (app, deps) => {
  const cases = escalations({ ...deps, now: deps.now ?? systemClock });

  app.get(
    "/escalate",
    { schema: { querystring: ListQuery, response: { 200: z.object({ escalations: z.array(Escalation), next: z.string().nullable() }), ...ADMIN_ERRORS } } },
    async (req) => {
      const page = await cases.list(req.query);
      return { escalations: page.items.map(escalation), next: encodeNext(page) };
    },
  );

  app.get("/escalate/:subtaskId", { schema: { params: Params, response: { 200: Escalation, 404: ErrorReply, ...ADMIN_ERRORS } } }, async (req, reply) => {
    const answer = await cases.one(req.params.subtaskId);
    if ("refused" in answer) return reply.code(404).send({ error: answer.refused, message: answer.message });
    return escalation(answer);
  });

  app.post(
    "/escalate/:subtaskId/result",
    { schema: { params: Params, body: Resolution, response: { 200: EventsReply, 404: ErrorReply, 409: ErrorReply, ...ADMIN_ERRORS, ...BODY_ERRORS } } },
    async (req, reply) => {
      const answer = await cases.resolve(req.params.subtaskId, req.body);
      if ("refused" in answer) return reply.code(404).send({ error: answer.refused, message: answer.message });
      return answer;
    },
  );

  app.post(
    "/escalate",
    {
      bodyLimit: ESCALATION_BODY_LIMIT,
      config: { data: ESCALATION_DATA },
      schema: { body: EscalationRequest, response: { 200: EscalatedCode, 503: ErrorReply, ...ADMIN_ERRORS, ...BODY_ERRORS } },
    },
    async (req, reply) => {
      const answer = await cases.escalateHere(req.body);
      if ("refused" in answer) return reply.code(503).send({ error: answer.refused, message: answer.message });
      return answer;
    },
  );
};
