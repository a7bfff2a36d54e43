import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import type { NonceStore } from "../../adapters/security/signedRequests.js";
import { signedAgentRequest } from "./signedAgentRequest.js";
import type { WorkSignal } from "../../app/work/workSignal.js";
import { systemClock } from "../../app/clock.js";
import { agentDirectory } from "../../app/agents/agentDirectory.js";
import { agentHeartbeat } from "../../app/agents/agentHeartbeat.js";
import { registerAgent, type AutoApprove } from "../../app/agents/registerAgent.js";
import type { HandleCommand, PrimableHandle } from "../../app/commands.js";
import { reportResult } from "../../app/results/reportResult.js";
import { pullWork } from "../../app/work/pullWork.js";
import { workAssigner } from "../../app/work/workAssigner.js";
import type { AgentCommand } from "../../domain/agents/agent.js";
import type { Subtask, SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { Db } from "../../projections/keyset.js";
import { RESULT_DATA } from "../dataFields.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, ROUTE_ERRORS } from "../replies.js";
import { REGISTRATION_LIMITS, registrationLimits, type RegistrationLimits } from "./registrationLimits.js";
import { HeartbeatBody, HeartbeatReply, PullBody, PullReply, RegisterBody, RegisterReply, ResultBody, ResultReply } from "../../schemas/coordinatorApi.js";

export interface AgentRoutesDeps {
  readonly pool: Db;
  readonly nonces: NonceStore;
  readonly heartbeats: HeartbeatStore;
  readonly handleAgent: HandleCommand<AgentCommand>;
  readonly handleSubtask: PrimableHandle<SubtaskCommand, Subtask>;
  readonly heartbeatIntervalMs: number;
  /** The shortest lease; a subtask that may run long gets three of its timeouts. */
  readonly leaseMs: number;
  readonly sandboxRequired: boolean;
  /** Who is approved on registration without an operator: everyone, agents on this machine, or no one. */
  readonly autoApprove: AutoApprove;
  /** Registrations taken per window from one address and from one key (default REGISTRATION_LIMITS). */
  readonly registrationLimits?: RegistrationLimits;
  readonly now?: () => Date;
  /** A uniform random number in [0, 1) for the result-check sampling (default: crypto). */
  readonly draw?: () => number;
  /** Open leases all agents of one owner account may hold together. */
  readonly ownerMaxLeases?: number;
  /** Wakes pulls that wait for work (POST /pull's waitMs) when the tasks projection moves. */
  readonly workSignal?: WorkSignal;
}

/** How each refusal of the worker-facing use cases is answered. */
const STATUS = { unknown_agent: 404, blacklisted: 403, device_type_changed: 400, sandbox_required: 400 } as const;
const SIGNED_ERRORS = { ...ROUTE_ERRORS, ...BODY_ERRORS, ...AUTH_ERRORS };

/**
 * The worker-facing routes: register, heartbeat, pull, result. Each request is signed by the
 * agent's key over method, path, time, nonce and the exact body bytes; the signature is checked
 * before the body is validated, and the nonce is claimed in JetStream KV so a replay on any
 * coordinator is refused. Nothing is appended for a request that fails any check.
 */
export const agentRoutes: FastifyPluginAsyncZod<AgentRoutesDeps> = async (app, deps) => {
  const now = deps.now ?? systemClock;
  const directory = agentDirectory({ pool: deps.pool, now });
  const assigner = workAssigner(deps);
  const register = registerAgent({ handleAgent: deps.handleAgent, directory, releaseAll: assigner.releaseAll, autoApprove: deps.autoApprove, now });
  const heartbeat = agentHeartbeat({ directory, heartbeats: deps.heartbeats, now });
  const pull = pullWork({
    directory,
    assigner,
    heartbeats: deps.heartbeats,
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    sandboxRequired: deps.sandboxRequired,
    now,
    ...(deps.workSignal ? { workSignal: deps.workSignal } : {}),
  });
  const report = reportResult({ directory, handleSubtask: deps.handleSubtask, resultTaken: assigner.resultTaken, draw: deps.draw, now });

  app.addHook("preValidation", signedAgentRequest(deps.nonces));
  // A closing gateway answers its waiting pulls (no_work) rather than hold its shutdown for them.
  const waiting = new Set<AbortController>();
  app.addHook("preClose", async () => {
    for (const w of waiting) w.abort();
  });
  const limits = await registrationLimits(app, deps.registrationLimits ?? REGISTRATION_LIMITS);

  app.post(
    "/register",
    {
      // Counted per address before the signature is checked, per key after (registrationLimits).
      onRequest: limits.byAddress,
      preHandler: limits.byKey,
      schema: { body: RegisterBody, response: { 200: RegisterReply, 403: ErrorReply, 429: ErrorReply, ...SIGNED_ERRORS } },
    },
    async (req, reply) => {
      const answer = await register(req.agentId!, req.body, { ip: req.ip });
      if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
      return { ...answer, heartbeatIntervalMs: deps.heartbeatIntervalMs };
    },
  );

  app.post("/heartbeat", { schema: { body: HeartbeatBody, response: { 200: HeartbeatReply, 404: ErrorReply, ...SIGNED_ERRORS } } }, async (req, reply) => {
    const answer = await heartbeat(req.agentId!, req.body);
    if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
    return { ok: true, ...answer, heartbeatIntervalMs: deps.heartbeatIntervalMs };
  });

  app.post("/pull", { schema: { body: PullBody, response: { 200: PullReply, 403: ErrorReply, 404: ErrorReply, ...SIGNED_ERRORS } } }, async (req, reply) => {
    // A worker that hangs up while its pull waits stops the wait: no lease is handed to it.
    // (One controller per pull, aborted by either: AbortSignal.any on the gateway's long-lived
    // signal would keep a dependent per pull alive for as long as the gateway runs.)
    const gone = new AbortController();
    waiting.add(gone);
    reply.raw.once("close", () => gone.abort());
    const answer = await pull(req.agentId!, req.body.power, { ...(req.body.waitMs ? { waitMs: req.body.waitMs } : {}), gone: gone.signal }).finally(() => waiting.delete(gone));
    if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
    if (!answer.assigned) return answer;
    const { subtaskId, spec, leaseId, leaseExpiresAt, attempt } = answer.assignment;
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

  app.post(
    "/result",
    { config: { data: RESULT_DATA }, schema: { body: ResultBody, response: { 200: ResultReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply, ...SIGNED_ERRORS } } },
    async (req, reply) => {
      const answer = await report(req.agentId!, req.body);
      if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
      return { accepted: true, events: [...answer.events], checking: answer.checking };
    },
  );
};
