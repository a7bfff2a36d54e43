import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { verifySignedRequest, type NonceStore } from "../../adapters/security/signedRequests.js";
import { RESULT_DATA } from "../dataFields.js";
import { agentRecord, agentSubject, type Agent, type AgentCommand } from "../../domain/agents/agent.js";
import { deviceTypeRefusal, eligibility } from "../../domain/agents/eligibility.js";
import { REGISTRATION_LIMITS, registrationLimits, type RegistrationLimits } from "./registrationLimits.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { subtaskSubject, type Subtask, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import { HeartbeatBody, HeartbeatReply, PullBody, PullReply, RegisterBody, RegisterReply, ResultBody, ResultReply } from "../../schemas/coordinatorApi.js";
import { workAssigner } from "../../app/work/workAssigner.js";
import { shouldCheck } from "../../domain/tasks/resultCheck.js";

type Handle<C> = (subject: string, command: C, meta: CommandMeta) => Promise<HandledCommand>;

/** A handler that can be seeded with a projected state (see commandHandler's prime). */
type Primable<C, S> = Handle<C> & { prime?: (subject: string, state: S, version: number) => void };

export interface AgentRoutesDeps {
  readonly pool: pg.Pool;
  readonly nonces: NonceStore;
  readonly heartbeats: HeartbeatStore;
  readonly handleAgent: Handle<AgentCommand>;
  readonly handleSubtask: Primable<SubtaskCommand, Subtask>;
  readonly heartbeatIntervalMs: number;
  /** The shortest lease; a subtask that may run long gets three of its timeouts. */
  readonly leaseMs: number;
  readonly sandboxRequired: boolean;
  /** Who is approved on registration without an operator: everyone, agents on this machine, or no one. */
  readonly autoApprove: "all" | "loopback" | "none";
  /** Registrations taken per window from one address and from one key (default REGISTRATION_LIMITS). */
  readonly registrationLimits?: RegistrationLimits;
  readonly now?: () => Date;
  /** A uniform random number in [0, 1) for the result-check sampling (default: crypto). */
  readonly draw?: () => number;
  /** Open leases all agents of one owner account may hold together. */
  readonly ownerMaxLeases?: number;
}

declare module "fastify" {
  interface FastifyRequest {
    agentId?: string;
  }
}

const ErrorReply = z.object({ error: z.string(), message: z.string() });
/** How long a coordinator trusts its copy of an agent's state (a blacklisting waits this out before its last look for leases). */
export const AGENT_CACHE_MS = 1_000;
const isLoopback = (ip: string) => ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";

/**
 * The worker-facing routes: register, heartbeat, pull, result. Each request is signed by the
 * agent's key over method, path, time, nonce and the exact body bytes; the signature is checked
 * before the body is validated, and the nonce is claimed in JetStream KV so a replay on any
 * coordinator is refused. Nothing is appended for a request that fails any check.
 */
export const agentRoutes: FastifyPluginAsyncZod<AgentRoutesDeps> = async (app, deps) => {
  const now = deps.now ?? (() => new Date());

  // The signature covers the body's exact bytes, which the gateway's JSON parser keeps (rawBody).
  app.addHook("preValidation", async (req, reply) => {
    const check = await verifySignedRequest(req.headers, req.method, req.url, req.rawBody ?? Buffer.alloc(0), deps.nonces);
    if (!check.ok) return reply.code(check.status).send({ error: check.status === 401 ? "unauthorized" : "bad_request", message: check.reason });
    req.agentId = check.agent;
  });
  const limits = await registrationLimits(app, deps.registrationLimits ?? REGISTRATION_LIMITS);

  // The device type is fixed at registration: a heartbeat or pull that reports another is refused.
  app.addHook("preHandler", async (req, reply) => {
    if (req.routeOptions.url !== "/heartbeat" && req.routeOptions.url !== "/pull") return;
    const agent = await loadAgent(req.agentId!);
    const refusal = agent && deviceTypeRefusal(agent, (req.body as PullBody).power);
    if (refusal) return reply.code(400).send({ error: "device_type_changed", message: refusal });
  });

  // Agents change rarely and every request needs its agent: a second of staleness (a blacklist
  // taking effect a second late) buys a query per request.
  const agents = new Map<string, { state: Agent | undefined; at: number }>();
  async function loadAgent(agentId: string, opts: { fresh?: boolean } = {}): Promise<Agent | undefined> {
    const cached = agents.get(agentId);
    if (!opts.fresh && cached?.state && Date.now() - cached.at < AGENT_CACHE_MS) return cached.state;
    const row = (await deps.pool.query<{ state: Agent }>("SELECT state FROM agents WHERE agent_id = $1", [agentId])).rows[0];
    if (agents.size > 10_000) agents.clear();
    agents.set(agentId, { state: row?.state, at: Date.now() });
    return row?.state;
  }
  // A pull counts as a heartbeat, but writing one on every pull of a busy agent buys nothing.
  const lastBeats = new Map<string, number>();
  async function beatOnPull(agentId: string, at: number, power: PullBody["power"]) {
    if (at - (lastBeats.get(agentId) ?? 0) < deps.heartbeatIntervalMs / 4) return;
    if (lastBeats.size > 10_000) lastBeats.clear();
    lastBeats.set(agentId, at);
    await deps.heartbeats.beat(agentId, { at, power });
  }
  const assigner = workAssigner(deps);
  const draw = deps.draw ?? (() => randomInt(0, 2 ** 47) / 2 ** 47);
  const unknownAgent = { error: "unknown_agent", message: "no agent registered with this key; POST /register first" };

  /**
   * The agent as projected once the projection holds `version`, which also becomes this
   * coordinator's copy: a registration's reply, and the requests after it, see what it decided
   * (an approval withdrawn, a new device type) rather than the copy of a second ago. Bounded: a
   * lagging projection delays a registration by two seconds at most.
   */
  async function projectedAgent(agentId: string, version: number): Promise<Agent | undefined> {
    const deadline = Date.now() + 2_000;
    for (;;) {
      const row = (await deps.pool.query<{ state: Agent; last_seq: string }>("SELECT state, last_seq FROM agents WHERE agent_id = $1", [agentId])).rows[0];
      if ((row && Number(row.last_seq) >= version) || Date.now() > deadline) {
        if (row) agents.set(agentId, { state: row.state, at: Date.now() });
        return row?.state;
      }
      await sleep(20);
    }
  }

  app.post(
    "/register",
    {
      // Counted per address before the signature is checked, per key after (registrationLimits).
      onRequest: limits.byAddress,
      preHandler: limits.byKey,
      schema: { body: RegisterBody, response: { 200: RegisterReply, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 429: ErrorReply } },
    },
    async (req, reply) => {
      const agentId = req.agentId!;
      const { name, mode, capabilities, deviceType, owner } = req.body;
      if (mode !== "ide" && capabilities.sandbox === "none") {
        return reply.code(400).send({ error: "sandbox_required", message: "sandbox \"none\" is only for agents in ide mode" });
      }
      const autoApprove = deps.autoApprove === "all" || (deps.autoApprove === "loopback" && isLoopback(req.ip));
      const profile = { mode, capabilities, deviceType, ...(name ? { name } : {}), ...(owner ? { owner } : {}) };
      let done: HandledCommand;
      try {
        done = await deps.handleAgent(agentSubject(agentId), { kind: "register", profile, autoApprove }, { now: now() });
      } catch (err) {
        if (err instanceof DomainRuleViolation && err.code === "blacklisted") return reply.code(403).send({ error: "blacklisted", message: err.message });
        throw err;
      }
      // A worker registers when its process starts: what its last process held is given back.
      await assigner.releaseAll(agentId, "its worker registered again (a new process holds none of the old leases)", now());
      const known = await projectedAgent(agentId, done.version);
      // What this registration decided, else what was decided before it (a policy that approves
      // now approved before, or this registration would have approved).
      const last = done.events.map((e) => e.type).filter((type) => type === "agent.approved" || type === "agent.approvalWithdrawn" || type === "agent.registered").at(-1);
      const approved = last ? last === "agent.approved" : autoApprove || known?.status === "approved";
      return { agentId, status: approved ? ("approved" as const) : ("pending" as const), heartbeatIntervalMs: deps.heartbeatIntervalMs, record: agentRecord(known ?? { status: "none" }) };
    },
  );

  app.post("/heartbeat", { schema: { body: HeartbeatBody, response: { 200: HeartbeatReply, 400: ErrorReply, 404: ErrorReply } } }, async (req, reply) => {
    const agent = await loadAgent(req.agentId!);
    if (!agent) return reply.code(404).send(unknownAgent);
    // A beat can only say less than the registration: a model is claimed by registering with it
    // (where a claim beyond the approved profile is reviewed), never by a heartbeat.
    const registered = agent.status === "none" ? [] : (agent.profile?.capabilities.models ?? []);
    const models = req.body.models?.filter((m) => registered.includes(m));
    await deps.heartbeats.beat(req.agentId!, { at: now().getTime(), power: req.body.power, ...(models ? { models } : {}) });
    return { ok: true, status: agent.status, heartbeatIntervalMs: deps.heartbeatIntervalMs, record: agentRecord(agent) };
  });

  app.post("/pull", { schema: { body: PullBody, response: { 200: PullReply, 403: ErrorReply, 404: ErrorReply } } }, async (req, reply) => {
    const agentId = req.agentId!;
    const agent = await loadAgent(agentId);
    if (!agent) return reply.code(404).send(unknownAgent);
    if (agent.status === "blacklisted") return reply.code(403).send({ error: "blacklisted", message: `the agent is blacklisted: ${agent.reason}` });
    const at = now();
    // A pull is a sign of life too: an agent busy pulling is not reaped between beats.
    await beatOnPull(agentId, at.getTime(), req.body.power);
    const verdict = eligibility(agent, req.body.power, { sandboxRequired: deps.sandboxRequired });
    if (!verdict.eligible) {
      return { assigned: false as const, reason: verdict.reason, message: verdict.message, ...(verdict.deferMs ? { deferMs: verdict.deferMs } : {}) };
    }
    const limits = agent.status === "approved" ? { maxConcurrent: agent.profile.capabilities.maxConcurrent, ...(agent.profile.owner ? { owner: agent.profile.owner } : {}) } : { maxConcurrent: 1 };
    const outcome = await assigner.assign(agentId, verdict.filter, limits, at);
    if (!outcome.assigned) return { assigned: false as const, reason: outcome.reason, message: outcome.message };
    const { subtaskId, spec, leaseId, leaseExpiresAt, attempt } = outcome.assignment;
    return {
      assigned: true as const,
      subtask: {
        subtaskId,
        taskId: spec.taskId,
        leaseId,
        leaseExpiresAt,
        attempt,
        input: spec.input,
        language: spec.language,
        timeoutMs: spec.timeoutMs,
        ...(spec.requestedModel ? { requestedModel: spec.requestedModel } : {}),
      },
    };
  });


  app.post("/result", { config: { data: RESULT_DATA }, schema: { body: ResultBody, response: { 200: ResultReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } } }, async (req, reply) => {
    const agentId = req.agentId!;
    // Read afresh, not from the cache: a blacklisted agent's report is never taken.
    const agent = await loadAgent(agentId, { fresh: true });
    if (!agent) return reply.code(404).send(unknownAgent);
    if (agent.status === "blacklisted") return reply.code(403).send({ error: "blacklisted", message: `the agent is blacklisted: ${agent.reason}` });
    const { subtaskId, leaseId, ok, code, output, stderr, durationMs } = req.body;
    const at = now();
    // Whether this result is held until the coordinator has run its code: the agent's record decides.
    const check = shouldCheck(agentRecord(agent), draw());
    const done = await deps
      .handleSubtask(
        subtaskSubject(subtaskId),
        { kind: "report", agentId, leaseId, now: at, ok, code, output, stderr, durationMs, check },
        { now: at, commandId: `report:${leaseId}` },
      )
      .catch((err: unknown) => {
        if (err instanceof DomainRuleViolation && err.code === "unknown_subtask") throw new DomainRuleViolation(err.code, `no subtask ${subtaskId}`, true);
        throw err;
      });
    if (done.events.length > 0) assigner.resultTaken(subtaskId, agentId, done.version, at);
    return { accepted: true, events: done.events.map((e) => e.type), checking: done.events.some((e) => e.type === "subtask.reported") };
  });
};
