import type { FastifyInstance } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ModelUnavailableError, type ModelProvider } from "../../adapters/models/ollamaProvider.js";
import { codeFromAnswer } from "../../domain/escalation/code.js";
import { escalationPrompt } from "../../domain/escalation/prompt.js";
import { EscalatedCode } from "../../domain/escalation/reply.js";
import { ESCALATION_BODY_LIMIT, EscalationRequest } from "../../domain/escalation/request.js";
import { Language, parseDecomposition } from "../../domain/tasks/decomposition.js";
import { decompositionPrompt } from "../../domain/tasks/prompts.js";
import { asWellFormed } from "../../domain/text.js";
import { requireBearerToken } from "../adminAuth.js";
import { ESCALATION_DATA } from "../dataFields.js";
import { gatewayApp, observabilityOf, type GatewayObservability } from "../gatewayApp.js";
import type { LogLine } from "../gatewayLog.js";

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

const modelUnavailable = (err: ModelUnavailableError) => ({ error: "model_unavailable", message: err.message });

/**
 * The inference service (port 4302): decomposition and escalation; chat comes next. Every route
 * but /health spends the model's time, so each needs the node's token: its own decomposer and
 * escalation send it, another node using this one (its INFERENCE_URL) sends it as INFERENCE_TOKEN.
 */
export async function buildInference(deps: InferenceDeps): Promise<FastifyInstance> {
  const app = await gatewayApp({ service: "inference", bodyLimit: 64 * 1024, ...observabilityOf(deps), description: "Decomposition and escalation with the node's model; every route but /health, /docs and /metrics needs the node's token." });
  app.get("/health", async () => {
    const models = await deps.provider.available().catch(() => undefined);
    return { ok: models !== undefined && models.includes(deps.provider.model), model: deps.provider.model, reachable: models !== undefined };
  });
  await app.register(async (model) => {
    model.addHook("onRequest", requireBearerToken(deps.token, "the node's token (its admin token; INFERENCE_TOKEN on a node that uses this one)"));
    await model.register(modelRoutes, deps);
  });
  return app;
}

const modelRoutes: FastifyPluginAsyncZod<InferenceDeps> = async (app, deps) => {
  app.post("/decompose", { schema: { body: DecomposeBody } }, async (req, reply) => {
    const { prompt, language } = req.body;
    try {
      const answer = asWellFormed(await deps.provider.generate(decompositionPrompt(prompt, language)));
      return { model: deps.provider.model, ...parseDecomposition(answer, prompt, language) };
    } catch (err) {
      if (err instanceof ModelUnavailableError) return reply.code(503).send(modelUnavailable(err));
      throw err;
    }
  });

  // Ten failed tries with their code and errors outgrow the 64 KiB that suits a prompt.
  app.post("/escalate", { schema: { body: EscalationRequest }, bodyLimit: ESCALATION_BODY_LIMIT, config: { data: ESCALATION_DATA } }, async (req, reply) => {
    let answer: string;
    try {
      // A model may answer a lone surrogate (an escape in its JSON); its plan or code could not be signed.
      answer = asWellFormed(await deps.provider.generate(escalationPrompt(req.body)));
    } catch (err) {
      if (err instanceof ModelUnavailableError) return reply.code(503).send(modelUnavailable(err));
      throw err;
    }
    const fixed = EscalatedCode.safeParse({ code: codeFromAnswer(answer, req.body.language), model: deps.provider.model });
    if (!fixed.success) {
      // The model was asked and answered, but not with code; 502 tells the waterfall to move on.
      const why = fixed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      return reply.code(502).send({ error: "no_code", message: `model ${deps.provider.model} answered without usable code (${why})` });
    }
    return fixed.data;
  });
};
