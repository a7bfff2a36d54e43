import OpenAI from "openai";
import { codeFromAnswer } from "../../domain/escalation/code.js";
import { EscalationFailedError, EscalationUnavailableError, type Escalator } from "../../domain/escalation/escalator.js";
import { escalationMessages } from "../../domain/escalation/prompt.js";
import { EscalatedCode } from "../../domain/escalation/reply.js";
import { DEFAULT_ESCALATION_TIMEOUT_MS } from "./httpEscalation.js";

export interface CloudEscalatorConfig {
  /** An OpenAI-compatible API root, e.g. https://api.openai.com/v1 or http://host:8000/v1. */
  readonly baseURL: string | undefined;
  readonly apiKey: string | undefined;
  readonly model: string | undefined;
  readonly timeoutMs?: number;
  /** Retries of 408/429/5xx and dropped connections, with the client's backoff. */
  readonly maxRetries?: number;
}

const CLOUD = "cloud endpoint";

/**
 * Step 3 of the waterfall: a cloud model behind the OpenAI chat completions API, through the
 * official `openai` client. Every setting is passed explicitly, so the client never falls back to
 * OPENAI_API_KEY or OPENAI_BASE_URL from the environment and sends code somewhere unconfigured.
 */
export function cloudEscalator(config: CloudEscalatorConfig): Escalator {
  const missing = (["baseURL", "apiKey", "model"] as const).filter((k) => !config[k]);
  const client =
    missing.length === 0
      ? new OpenAI({
          baseURL: config.baseURL,
          apiKey: config.apiKey,
          timeout: config.timeoutMs ?? DEFAULT_ESCALATION_TIMEOUT_MS,
          maxRetries: config.maxRetries ?? 1,
        })
      : undefined;
  return {
    via: "cloud",
    async escalate(request) {
      if (!client || !config.model) throw new EscalationUnavailableError("cloud", `cloud escalation is not configured (missing ${missing.join(", ")})`);
      const where = `${CLOUD} ${config.baseURL} (model ${config.model})`;
      const { system, user } = escalationMessages(request);
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create({
          model: config.model,
          messages: [
            { role: "system", content: system },
            { role: "user", content: user },
          ],
          temperature: 0.2,
        });
      } catch (err) {
        if (err instanceof OpenAI.APIConnectionTimeoutError) throw new EscalationUnavailableError("cloud", `${where} did not answer within ${client.timeout} ms`);
        if (err instanceof OpenAI.APIConnectionError) throw new EscalationUnavailableError("cloud", `${where} is unreachable: ${err.message}`);
        if (err instanceof OpenAI.APIError && err.status !== undefined) {
          // The client's message starts with the status already; ours names it once.
          const reason = err.message.replace(new RegExp(`^${err.status}\\s*`), "") || "no reason given";
          throw new EscalationFailedError("cloud", `${where} answered ${err.status}: ${reason}`, err.status);
        }
        throw new EscalationFailedError("cloud", `${where} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      const content = completion.choices[0]?.message?.content ?? "";
      const fixed = EscalatedCode.safeParse({ code: codeFromAnswer(content, request.language), model: completion.model || config.model });
      if (!fixed.success) {
        const why = fixed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new EscalationFailedError("cloud", `${where} answered without usable code (${why})`);
      }
      return { ...fixed.data, via: "cloud" };
    },
  };
}
