import type { HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import { eligibility, type Eligibility } from "../../domain/agents/eligibility.js";
import type { PowerTelemetry } from "../../domain/agents/powerPolicy.js";
import { refusal, type Refusal } from "../commands.js";
import type { AgentDirectory } from "../agents/agentDirectory.js";
import { knownAgent } from "../agents/agentHeartbeat.js";
import { pullBeats } from "./pullBeats.js";
import type { AssignOutcome, workAssigner } from "./workAssigner.js";

export interface PullWorkDeps {
  readonly directory: AgentDirectory;
  readonly assigner: Pick<ReturnType<typeof workAssigner>, "assign">;
  readonly heartbeats: HeartbeatStore;
  readonly heartbeatIntervalMs: number;
  readonly sandboxRequired: boolean;
  readonly now: () => Date;
}

/** What a pull gets: a subtask under a lease, or why none (with how long to wait, for a power deferral). */
export type Pulled = AssignOutcome | { readonly assigned: false; readonly reason: Exclude<Eligibility, { eligible: true }>["reason"]; readonly message: string; readonly deferMs?: number };

/**
 * POST /pull: an agent asks for work. A blacklisted agent is refused; one that may not take work
 * now (not approved, its power policy, no model, no sandbox where one is required) is told why;
 * an eligible one gets the best subtask it may take (workAssigner), within its lease limits.
 */
export function pullWork(deps: PullWorkDeps) {
  const beats = pullBeats(deps.heartbeatIntervalMs / 4);
  return async (agentId: string, power: PowerTelemetry): Promise<Pulled | Refusal<"unknown_agent" | "device_type_changed" | "blacklisted">> => {
    const agent = await knownAgent(deps.directory, agentId, power);
    if ("refused" in agent) return agent;
    if (agent.status === "blacklisted") return refusal("blacklisted", `the agent is blacklisted: ${agent.reason}`);
    const at = deps.now();
    if (beats.due(agentId, at.getTime())) await deps.heartbeats.beat(agentId, { at: at.getTime(), power });
    const verdict = eligibility(agent, power, { sandboxRequired: deps.sandboxRequired });
    if (!verdict.eligible) return { assigned: false, reason: verdict.reason, message: verdict.message, ...(verdict.deferMs ? { deferMs: verdict.deferMs } : {}) };
    const limits =
      agent.status === "approved" ? { maxConcurrent: agent.profile.capabilities.maxConcurrent, ...(agent.profile.owner ? { owner: agent.profile.owner } : {}) } : { maxConcurrent: 1 };
    return deps.assigner.assign(agentId, verdict.filter, limits, at);
  };
}
