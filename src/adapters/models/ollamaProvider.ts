import { Ollama } from "ollama";

/** A model that writes text: decomposition, code generation, escalation. */
export interface ModelProvider {
  readonly model: string;
  generate(prompt: string, opts?: { temperature?: number }): Promise<string>;
  /** The models the server has; throws ModelUnavailableError when it cannot be reached. */
  available(): Promise<string[]>;
}

export class ModelUnavailableError extends Error {
  override readonly name = "ModelUnavailableError";
}

/** Ollama through the official `ollama` client. There is no echo fallback: no model, no answer. */
export function ollamaProvider(host: string, model: string): ModelProvider {
  const client = new Ollama({ host });
  const unavailable = (err: unknown) =>
    new ModelUnavailableError(`no model ${model} reachable at ${host}: ${err instanceof Error ? err.message : String(err)}`);
  return {
    model,
    async generate(prompt, opts = {}) {
      try {
        const r = await client.generate({ model, prompt, stream: false, options: { temperature: opts.temperature ?? 0.2 } });
        return r.response ?? "";
      } catch (err) {
        throw unavailable(err);
      }
    },
    async available() {
      try {
        return (await client.list()).models.map((m) => m.name);
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}
