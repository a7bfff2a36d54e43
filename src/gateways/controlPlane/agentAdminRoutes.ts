import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { agentSubject, type AgentCommand } from "../../domain/agents/agent.js";
import { AggregateId } from "../../domain/events/envelope.js";

export interface AgentAdminDeps {
  readonly pool: pg.Pool;
  readonly handleAgent: (subject: string, command: AgentCommand, meta: CommandMeta) => Promise<HandledCommand>;
  readonly now?: () => Date;
}

const ErrorReply = z.object({ error: z.string(), message: z.string() });
const Params = z.object({ agentId: AggregateId });
const Events = z.object({ events: z.array(z.string()) });
const AgentRow = z.object({
  agentId: z.string(),
  status: z.string(),
  name: z.string().nullable(),
  mode: z.string().nullable(),
  capabilities: z.unknown(),
  reason: z.string().nullable(),
  updatedAt: z.string(),
});

/** Operators approve and blacklist agents; both are events on the agent's stream. */
export const agentAdminRoutes: FastifyPluginAsyncZod<AgentAdminDeps> = async (app, deps) => {
  const now = deps.now ?? (() => new Date());
  const known = async (agentId: string) => ((await deps.pool.query("SELECT 1 FROM agents WHERE agent_id = $1", [agentId])).rowCount ?? 0) > 0;

  app.get(
    "/agents",
    { schema: { querystring: z.object({ status: z.enum(["pending", "approved", "blacklisted"]).optional() }), response: { 200: z.object({ agents: z.array(AgentRow) }) } } },
    async (req) => {
      const { rows } = await deps.pool.query<{ agent_id: string; status: string; name: string | null; mode: string | null; capabilities: unknown; reason: string | null; updated_at: Date }>(
        "SELECT agent_id, status, name, mode, capabilities, reason, updated_at FROM agents WHERE ($1::text IS NULL OR status = $1) ORDER BY updated_at DESC",
        [req.query.status ?? null],
      );
      return {
        agents: rows.map((r) => ({ agentId: r.agent_id, status: r.status, name: r.name, mode: r.mode, capabilities: r.capabilities, reason: r.reason, updatedAt: r.updated_at.toISOString() })),
      };
    },
  );

  app.post("/agents/:agentId/approve", { schema: { params: Params, response: { 200: Events, 404: ErrorReply, 409: ErrorReply } } }, async (req, reply) => {
    if (!(await known(req.params.agentId))) return reply.code(404).send({ error: "unknown_agent", message: `no agent ${req.params.agentId}` });
    const done = await deps.handleAgent(agentSubject(req.params.agentId), { kind: "approve", by: "operator" }, { now: now() });
    return { events: done.events.map((e) => e.type) };
  });

  app.post(
    "/agents/:agentId/blacklist",
    { schema: { params: Params, body: z.object({ reason: z.string().trim().min(1).max(500) }), response: { 200: Events, 409: ErrorReply } } },
    async (req) => {
      // A key may be blacklisted before it ever registers.
      const done = await deps.handleAgent(agentSubject(req.params.agentId), { kind: "blacklist", by: "operator", reason: req.body.reason }, { now: now() });
      return { events: done.events.map((e) => e.type) };
    },
  );
};
