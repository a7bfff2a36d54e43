import { ModelUnavailableError, type ModelProvider } from "../../adapters/models/ollamaProvider.js";
import { codeFromAnswer } from "../../domain/escalation/code.js";
import { escalationPrompt } from "../../domain/escalation/prompt.js";
import { EscalatedCode } from "../../domain/escalation/reply.js";
import type { EscalationRequest } from "../../domain/escalation/request.js";
import { parseDecomposition, type Decomposition, type Language } from "../../domain/tasks/decomposition.js";
import { decompositionPrompt } from "../../domain/tasks/prompts.js";
import { asWellFormed } from "../../domain/text.js";
import { refusal, type Refusal } from "../commands.js";

/** The model could not be asked (503), or answered without usable code (502: the waterfall moves on). */
type ModelRefusal = Refusal<"model_unavailable">;

/**
 * The inference service's use cases: a task's prompt decomposed into subtasks, and a failed
 * subtask's code written again, each by one call to the node's model. A model may answer a lone
 * surrogate (an escape in its JSON); its plan or code could not be signed, so it is made well formed.
 */
export function modelService(provider: ModelProvider) {
  async function ask(prompt: string): Promise<string | ModelRefusal> {
    try {
      return asWellFormed(await provider.generate(prompt));
    } catch (err) {
      if (err instanceof ModelUnavailableError) return refusal("model_unavailable", err.message);
      throw err;
    }
  }

  return {
    /** Whether the model server answers, and has this node's model. */
    async health(): Promise<{ ok: boolean; model: string; reachable: boolean }> {
      const models = await provider.available().catch(() => undefined);
      return { ok: models !== undefined && models.includes(provider.model), model: provider.model, reachable: models !== undefined };
    },

    /** Unusable answers fall back to one subtask holding the whole prompt (parseDecomposition). */
    async decompose(prompt: string, language: Language): Promise<(Decomposition & { model: string }) | ModelRefusal> {
      const answer = await ask(decompositionPrompt(prompt, language));
      if (typeof answer !== "string") return answer;
      return { model: provider.model, ...parseDecomposition(answer, prompt, language) };
    },

    async escalate(request: EscalationRequest): Promise<EscalatedCode | ModelRefusal | Refusal<"no_code">> {
      const answer = await ask(escalationPrompt(request));
      if (typeof answer !== "string") return answer;
      const fixed = EscalatedCode.safeParse({ code: codeFromAnswer(answer, request.language), model: provider.model });
      if (fixed.success) return fixed.data;
      const why = fixed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      return refusal("no_code", `model ${provider.model} answered without usable code (${why})`);
    },
  };
}
