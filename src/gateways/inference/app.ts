import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { ModelUnavailableError, type ModelProvider } from "../../adapters/models/ollamaProvider.js";
import { Language, parseDecomposition } from "../../domain/tasks/decomposition.js";
import { decompositionPrompt } from "../../domain/tasks/prompts.js";
import { installErrorReplies } from "../errors.js";

export interface InferenceDeps {
  readonly provider: ModelProvider;
  readonly logger?: boolean;
}

const DecomposeBody = z.object({
  prompt: z.string().trim().min(1).max(20_000),
  language: Language.default("python"),
});

/** The inference service (port 4302): decomposition now; escalation and chat come next. */
export async function buildInference(deps: InferenceDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 64 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorReplies(app);

  app.get("/health", async () => {
    const models = await deps.provider.available().catch(() => undefined);
    return { ok: models !== undefined && models.includes(deps.provider.model), model: deps.provider.model, reachable: models !== undefined };
  });

  app.post("/decompose", { schema: { body: DecomposeBody } }, async (req, reply) => {
    const { prompt, language } = req.body;
    try {
      const answer = await deps.provider.generate(decompositionPrompt(prompt, language));
      return { model: deps.provider.model, ...parseDecomposition(answer, prompt, language) };
    } catch (err) {
      if (err instanceof ModelUnavailableError) return reply.code(503).send({ error: "model_unavailable", message: err.message });
      throw err;
    }
  });
  return app;
}
