import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { systemClock } from "../../app/clock.js";
import { agentAdmin } from "../../app/agents/agentAdmin.js";
import type { HandleCommand } from "../../app/commands.js";
import type { AgentCommand } from "../../domain/agents/agent.js";
import { AgentRecord } from "../../domain/agents/record.js";
import { AggregateId } from "../../domain/events/envelope.js";
import type { SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { AgentSummary } from "../../projections/agents/queries.js";
import type { Db } from "../../projections/keyset.js";
import { Cursor, encodeNext, Micros, PageLimit } from "../paging.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, EventsReply, ROUTE_ERRORS } from "../replies.js";

export interface AgentAdminDeps {
  readonly pool: Db;
  readonly handleAgent: HandleCommand<AgentCommand>;
  /** Takes back a blacklisted agent's leases; none: blacklisting only refuses what the agent sends next. */
  readonly handleSubtask?: HandleCommand<SubtaskCommand>;
  /** How long a coordinator may still act on its copy of an agent from before the blacklisting (default: theirs, AGENT_CACHE_MS). */
  readonly agentCacheMs?: number;
  readonly now?: () => Date;
}

const Params = z.object({ agentId: AggregateId });
const AgentRow = z.object({
  agentId: z.string(),
  status: z.string(),
  name: z.string().nullable(),
  mode: z.string().nullable(),
  capabilities: z.unknown(),
  reason: z.string().nullable(),
  approvedBy: z.string().nullable(),
  /** The credit account its work pays (null: its own id). */
  owner: z.string().nullable(),
  /** Its record of checked results: what its reliability is judged on. */
  record: AgentRecord,
  firstSeenAt: z.string(),
  updatedAt: z.string(),
});
const AgentsQuery = z.object({
  status: z.enum(["pending", "approved", "blacklisted"]).optional(),
  limit: PageLimit(50, 500),
  /** The `next` of the previous page. */
  after: Cursor(Micros, AggregateId).optional(),
});

const agentRow = (a: AgentSummary): z.infer<typeof AgentRow> => ({ ...a, firstSeenAt: a.firstSeenAt.toISOString(), updatedAt: a.updatedAt.toISOString() });
const ADMIN_ERRORS = { ...ROUTE_ERRORS, ...AUTH_ERRORS };

/** Operators list, approve and blacklist agents (agentAdmin). */
export const agentAdminRoutes: FastifyPluginAsyncZod<AgentAdminDeps> = async (app, deps) => {
  const cases = agentAdmin({ ...deps, now: deps.now ?? systemClock });

  app.get("/agents", { schema: { querystring: AgentsQuery, response: { 200: z.object({ agents: z.array(AgentRow), next: z.string().nullable() }), ...ADMIN_ERRORS } } }, async (req) => {
    const page = await cases.list(req.query);
    return { agents: page.items.map(agentRow), next: encodeNext(page) };
  });

  app.post("/agents/:agentId/approve", { schema: { params: Params, response: { 200: EventsReply, 404: ErrorReply, 409: ErrorReply, ...ADMIN_ERRORS } } }, async (req, reply) => {
    const answer = await cases.approve(req.params.agentId);
    if ("refused" in answer) return reply.code(404).send({ error: answer.refused, message: answer.message });
    return answer;
  });

  app.post(
    "/agents/:agentId/blacklist",
    {
      schema: {
        params: Params,
        body: z.object({
          reason: z.string().trim().min(1).max(500),
          /** Who decided (an operator's name); default "operator". */
          by: z.string().trim().min(1).max(200).optional(),
          /** The evidence document the decision rests on: only its SHA-256 is recorded. */
          evidence: z.string().min(1).max(48 * 1024).optional(),
        }),
        response: { 200: EventsReply.extend({ revokedLeases: z.number().int(), evidenceHash: z.string().nullable() }), 409: ErrorReply, ...ADMIN_ERRORS, ...BODY_ERRORS },
      },
    },
    async (req) => cases.blacklist(req.params.agentId, req.body.reason, { ...(req.body.by ? { by: req.body.by } : {}), ...(req.body.evidence !== undefined ? { evidence: req.body.evidence } : {}) }),
  );

  app.post(
    "/agents/:agentId/owner",
    {
      schema: {
        params: Params,
        body: z.object({ owner: AggregateId, by: z.string().trim().min(1).max(200).optional() }),
        response: { 200: EventsReply, 404: ErrorReply, 409: ErrorReply, ...ADMIN_ERRORS, ...BODY_ERRORS },
      },
    },
    async (req, reply) => {
      const answer = await cases.setOwner(req.params.agentId, req.body.owner, req.body.by);
      if ("refused" in answer) return reply.code(404).send({ error: answer.refused, message: answer.message });
      return answer;
    },
  );
};
