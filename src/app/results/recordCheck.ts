import type { CommandHandlers } from "../commandHandlers.js";
import { systemClock } from "../clock.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { agentSubject } from "../../domain/agents/agent.js";
import type { CheckOutcome } from "./resultChecker.js";

/** The longest reason an agent's record keeps for a failed check. */
const REASON_CHARS = 500;

/**
 * A check's outcome, counted on the agent's record, once per lease: the command id is the
 * lease's, and the same check recorded again (a redelivered result) counts nothing twice.
 */
export function recordCheckOn(handlers: Pick<CommandHandlers, "agent">, clock: () => Date = systemClock) {
  return async ({ agentId, subtaskId, leaseId, ok, reason }: CheckOutcome): Promise<void> => {
    const now = clock();
    await handlers.agent(agentSubject(agentId), { kind: "recordCheck", subtaskId, leaseId, ok, ...(reason ? { reason: reason.slice(0, REASON_CHARS) } : {}), now }, { commandId: `check:${leaseId}`, now }).catch((err: unknown) => {
      if (!(err instanceof DomainRuleViolation && err.code === "already_checked")) throw err;
    });
  };
}
