import type { Escalator } from "../../domain/escalation/escalator.js";
import { postEscalation } from "./httpEscalation.js";

export interface InferenceEscalatorConfig {
  /** The inference service, e.g. http://127.0.0.1:4302; undefined when none is configured. */
  readonly url: string | undefined;
  /** Sent as `authorization: Bearer <token>`: the service refuses a request without it. */
  readonly token: string;
  readonly timeoutMs?: number;
}

/** Step 1 of the waterfall: the inference service's own model improves the failed code. */
export function inferenceEscalator(config: InferenceEscalatorConfig): Escalator {
  return {
    via: "inference",
    escalate: (request) =>
      postEscalation(
        { via: "inference", name: "inference service", baseUrl: config.url, headers: { authorization: `Bearer ${config.token}` }, timeoutMs: config.timeoutMs },
        request,
      ),
  };
}
