import type { Escalator } from "../../domain/escalation/escalator.js";
import { postEscalation } from "./httpEscalation.js";

export interface ParentCoordinatorConfig {
  /** The parent coordinator, e.g. https://parent.example:4301; undefined when this node has none. */
  readonly url: string | undefined;
  /** Sent as `authorization: Bearer <token>` when set. */
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** Step 2 of the waterfall: the parent coordinator, which runs its own waterfall for its children. */
export function parentCoordinator(config: ParentCoordinatorConfig): Escalator {
  const headers: Record<string, string> = config.token ? { authorization: `Bearer ${config.token}` } : {};
  return {
    via: "parent",
    escalate: (request) =>
      postEscalation({ via: "parent", name: "parent coordinator", baseUrl: config.url, headers, timeoutMs: config.timeoutMs }, request),
  };
}
