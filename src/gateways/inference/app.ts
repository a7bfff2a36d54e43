import type { FastifyInstance } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ModelProvider } from "../../adapters/models/ollamaProvider.js";
import { modelService } from "../../app/inference/modelService.js";
import { EscalatedCode } from "../../domain/escalation/reply.js";
import { ESCALATION_BODY_LIMIT, EscalationRequest } from "../../domain/escalation/request.js";
import { Language } from "../../domain/tasks/decomposition.js";
import { requireBearerToken } from "../adminAuth.js";
import { ESCALATION_DATA } from "../dataFields.js";
import { gatewayApp, observabilityOf, type GatewayObservability } from "../gatewayApp.js";
import type { LogLine } from "../gatewayLog.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, ROUTE_ERRORS } from "../replies.js";

export interface InferenceDeps extends GatewayObservability {
  readonly provider: ModelProvider;
  /** The bearer token every route but /health requires: the node's admin token. */
  readonly token: string;
  /** The node's log, for what went wrong (every 5xx); none: nothing is logged. */
  readonly log?: LogLine;
}

const DecomposeBody = z.object({
  prompt: z.string().trim().min(1).max(20_000),
  language: Language.default("python"),
});
const DecomposeReply = z.object({
  model: z.string(),
  subtasks: z.array(z.object({ index: z.number().int(), input: z.string(), language: Language, timeoutMs: z.number().int() })),
  /** False when the model's answer could not be used and the whole prompt became one subtask (`reason` says why). */
  parsed: z.boolean(),
  reason: z.string().optional(),
});
const InferenceHealth = z.object({ ok: z.boolean(), model: z.string(), reachable: z.boolean() });

const MODEL_ERRORS = { 503: ErrorReply, ...ROUTE_ERRORS, ...AUTH_ERRORS, ...BODY_ERRORS };
const STATUS = { model_unavailable: 503, no_code: 502 } as const;

/**
 * The inference service (port 4302): decomposition and escalation; chat comes next. Every route
 * but /health spends the model's time, so each needs the node's token: its own decomposer and
 * escalation send it, another node using this one (its INFERENCE_URL) sends it as INFERENCE_TOKEN.
 */
export async function buildInference(deps: InferenceDeps): Promise<FastifyInstance> {
  const app = await gatewayApp({ service: "inference", bodyLimit: 64 * 1024, ...observabilityOf(deps), description: "Decomposition and escalation with the node's model; every route but /health, /docs and /metrics needs the node's token." });
  const model = modelService(deps.provider);
  app.get("/health", { schema: { response: { 200: InferenceHealth, 500: ErrorReply } } }, () => model.health());
  await app.register(async (guarded) => {
    guarded.addHook("onRequest", requireBearerToken(deps.token, "the node's token (its admin token; INFERENCE_TOKEN on a node that uses this one)"));
    await guarded.register(modelRoutes, { model });
  });
  return app;
}

const modelRoutes: FastifyPluginAsyncZod<{ model: ReturnType<typeof modelService> }> = async (app, { model }) => {
  app.post("/decompose", { schema: { body: DecomposeBody, response: { 200: DecomposeReply, ...MODEL_ERRORS } } }, async (req, reply) => {
    const answer = await model.decompose(req.body.prompt, req.body.language);
    if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
    return { ...answer, subtasks: [...answer.subtasks] };
  });

  // Ten failed tries with their code and errors outgrow the 64 KiB that suits a prompt.
  app.post(
    "/escalate",
    { schema: { body: EscalationRequest, response: { 200: EscalatedCode, 502: ErrorReply, ...MODEL_ERRORS } }, bodyLimit: ESCALATION_BODY_LIMIT, config: { data: ESCALATION_DATA } },
    async (req, reply) => {
      const answer = await model.escalate(req.body);
      if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
      return answer;
    },
  );
};
