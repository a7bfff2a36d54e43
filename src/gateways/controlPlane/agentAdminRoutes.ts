import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { agentSubject, type AgentCommand } from "../../domain/agents/agent.js";
import { AgentRecord } from "../../domain/agents/record.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { AggregateId } from "../../domain/events/envelope.js";
import { subtaskSubject, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import { AGENT_CACHE_MS } from "../coordinator/agentRoutes.js";
import { Cursor, Micros, microsOf, PageLimit, pageOf, timeOfMicros } from "../paging.js";

type Handle<C> = (subject: string, command: C, meta: CommandMeta) => Promise<HandledCommand>;

export interface AgentAdminDeps {
  readonly pool: pg.Pool;
  readonly handleAgent: Handle<AgentCommand>;
  /** Takes back a blacklisted agent's leases; none: blacklisting only refuses what the agent sends next. */
  readonly handleSubtask?: Handle<SubtaskCommand>;
  /** How long a coordinator may still act on its copy of an agent from before the blacklisting (default: theirs, AGENT_CACHE_MS). */
  readonly agentCacheMs?: number;
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
  approvedBy: z.string().nullable(),
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

interface Row {
  agent_id: string;
  status: string;
  name: string | null;
  mode: string | null;
  capabilities: unknown;
  reason: string | null;
  approved_by: string | null;
  checked_results: number;
  failed_results: number;
  check_streak: number;
  last_failed_at: Date | null;
  first_seen_at: Date;
  first_seen_cursor: string;
  updated_at: Date;
}
const agentRow = (r: Row) => ({
  agentId: r.agent_id,
  status: r.status,
  name: r.name,
  mode: r.mode,
  capabilities: r.capabilities,
  reason: r.reason,
  approvedBy: r.approved_by,
  record: { checked: r.checked_results, failed: r.failed_results, streak: r.check_streak, ...(r.last_failed_at ? { lastFailedAt: r.last_failed_at.toISOString() } : {}) },
  firstSeenAt: r.first_seen_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * Operators list, approve and blacklist agents; approval and blacklist are events on the
 * agent's stream. Blacklisting also takes back every lease the agent holds, so its subtasks
 * go to someone else at once rather than when the leases run out; it replies once no
 * coordinator sharing this database can hand the agent another (about a second).
 */
export const agentAdminRoutes: FastifyPluginAsyncZod<AgentAdminDeps> = async (app, deps) => {
  const now = deps.now ?? (() => new Date());
  const known = async (agentId: string) => ((await deps.pool.query("SELECT 1 FROM agents WHERE agent_id = $1", [agentId])).rowCount ?? 0) > 0;

  /** Revokes the agent's open leases the subtasks projection shows; how many it took back. */
  async function revokeLeases(agentId: string, reason: string): Promise<number> {
    if (!deps.handleSubtask) return 0;
    const { rows } = await deps.pool.query<{ subtask_id: string }>("SELECT subtask_id FROM subtasks WHERE status = 'assigned' AND agent_id = $1", [agentId]);
    let revoked = 0;
    for (const { subtask_id } of rows) {
      // Decided on the subtask's own stream: a lease that moved on meanwhile is left alone.
      const done = await deps.handleSubtask(subtaskSubject(subtask_id), { kind: "revokeLease", agentId, reason: cut(`the agent was blacklisted: ${reason}`, 500) }, { now: now() });
      if (done.events.length > 0) revoked++;
    }
    return revoked;
  }

  /**
   * Until the agents projection shows the blacklisting and the coordinators' copies of the agent
   * have expired, a pull may still hand it a lease; after that none can. Bounded: a projection
   * that is down does not hold the operator's request forever.
   */
  async function untilNoCoordinatorServes(agentId: string, cacheMs: number) {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const row = (await deps.pool.query<{ status: string }>("SELECT status FROM agents WHERE agent_id = $1", [agentId])).rows[0];
      if (row?.status === "blacklisted") break;
      await sleep(50);
    }
    await sleep(cacheMs + 50);
  }

  app.get("/agents", { schema: { querystring: AgentsQuery, response: { 200: z.object({ agents: z.array(AgentRow), next: z.string().nullable() }) } } }, async (req) => {
    const { status, limit, after } = req.query;
    // Oldest first, by when the agent was first seen: a key that never changes, so agents
    // registering during a walk come at its end and none is served twice.
    const { rows } = await deps.pool.query<Row>(
      `SELECT agent_id, status, name, mode, capabilities, reason, approved_by, checked_results, failed_results, check_streak, last_failed_at,
              first_seen_at, ${microsOf("first_seen_at")} AS first_seen_cursor, updated_at
         FROM agents
        WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR (first_seen_at, agent_id) > (${timeOfMicros("$2")}, $3::text))
        ORDER BY first_seen_at, agent_id
        LIMIT $4`,
      [status ?? null, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
    const page = pageOf(rows, limit, (r) => [r.first_seen_cursor, r.agent_id]);
    return { agents: page.rows.map(agentRow), next: page.next };
  });

  app.post("/agents/:agentId/approve", { schema: { params: Params, response: { 200: Events, 404: ErrorReply, 409: ErrorReply } } }, async (req, reply) => {
    if (!(await known(req.params.agentId))) return reply.code(404).send({ error: "unknown_agent", message: `no agent ${req.params.agentId}` });
    const done = await deps.handleAgent(agentSubject(req.params.agentId), { kind: "approve", by: "operator" }, { now: now() });
    return { events: done.events.map((e) => e.type) };
  });

  app.post(
    "/agents/:agentId/blacklist",
    {
      schema: {
        params: Params,
        body: z.object({ reason: z.string().trim().min(1).max(500) }),
        response: { 200: Events.extend({ revokedLeases: z.number().int() }), 409: ErrorReply },
      },
    },
    async (req) => {
      const { agentId } = req.params;
      const { reason } = req.body;
      const cacheMs = deps.agentCacheMs ?? AGENT_CACHE_MS;
      // Only an agent approved now, or changed within a coordinator's copy of it, may be handed a lease meanwhile.
      const seen = (await deps.pool.query<{ status: string; updated_at: Date }>("SELECT status, updated_at FROM agents WHERE agent_id = $1", [agentId])).rows[0];
      const mayBeServed = seen !== undefined && (seen.status === "approved" || Date.now() - seen.updated_at.getTime() < cacheMs + 1_000);
      // A key may be blacklisted before it ever registers.
      const done = await deps.handleAgent(agentSubject(agentId), { kind: "blacklist", by: "operator", reason }, { now: now() }).catch(async (err: unknown) => {
        // Blacklisted before (perhaps by a request that failed while revoking): finish that.
        if (err instanceof DomainRuleViolation && err.code === "blacklisted") await revokeLeases(agentId, reason);
        throw err;
      });
      // The leases it holds end now; a look again catches any handed out while the news spread.
      let revokedLeases = await revokeLeases(agentId, reason);
      if (deps.handleSubtask && mayBeServed) {
        await untilNoCoordinatorServes(agentId, cacheMs);
        revokedLeases += await revokeLeases(agentId, reason);
      }
      return { events: done.events.map((e) => e.type), revokedLeases };
    },
  );
};
