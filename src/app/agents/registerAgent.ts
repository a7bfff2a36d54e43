import { agentRecord, agentSubject, type AgentCommand } from "../../domain/agents/agent.js";
import type { AgentCapabilities } from "../../domain/agents/capabilities.js";
import type { AgentRecord } from "../../domain/agents/record.js";
import type { DeviceType } from "../../domain/agents/powerPolicy.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { refusal, type HandleCommand, type Refusal } from "../commands.js";
import type { AgentDirectory } from "./agentDirectory.js";

/** Who is approved on registration without an operator: everyone, agents on this machine, or no one. */
export type AutoApprove = "all" | "loopback" | "none";

export interface Registration {
  readonly name?: string | undefined;
  readonly mode: "worker" | "ide";
  readonly capabilities: AgentCapabilities;
  readonly deviceType: DeviceType;
  readonly owner?: string | undefined;
}

export interface Registered {
  readonly agentId: string;
  readonly status: "approved" | "pending";
  readonly record: AgentRecord;
}

export interface RegisterAgentDeps {
  readonly handleAgent: HandleCommand<AgentCommand>;
  readonly directory: AgentDirectory;
  /** Gives back every lease the agent's last process held (workAssigner's releaseAll). */
  readonly releaseAll: (agentId: string, reason: string, at: Date) => Promise<number>;
  readonly autoApprove: AutoApprove;
  readonly now: () => Date;
}

const isLoopback = (ip: string) => ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";

/**
 * An agent registers its profile (again when its worker restarts). Whether it is approved at
 * once is the node's policy; a blacklisted key is refused. A worker registers when its process
 * starts, so what its last process held is given back. The answer is what this registration
 * decided, as the projection shows it once it has caught up.
 */
export function registerAgent(deps: RegisterAgentDeps) {
  return async (agentId: string, registration: Registration, from: { readonly ip: string }): Promise<Registered | Refusal<"sandbox_required" | "blacklisted">> => {
    const { name, mode, capabilities, deviceType, owner } = registration;
    if (mode !== "ide" && capabilities.sandbox === "none") return refusal("sandbox_required", 'sandbox "none" is only for agents in ide mode');
    const autoApprove = deps.autoApprove === "all" || (deps.autoApprove === "loopback" && isLoopback(from.ip));
    const profile = { mode, capabilities, deviceType, ...(name ? { name } : {}), ...(owner ? { owner } : {}) };
    const now = deps.now();
    let done;
    try {
      done = await deps.handleAgent(agentSubject(agentId), { kind: "register", profile, autoApprove }, { now });
    } catch (err) {
      if (err instanceof DomainRuleViolation && err.code === "blacklisted") return refusal("blacklisted", err.message);
      throw err;
    }
    await deps.releaseAll(agentId, "its worker registered again (a new process holds none of the old leases)", now);
    const known = await deps.directory.projected(agentId, done.version);
    // What this registration decided, else what was decided before it (a policy that approves
    // now approved before, or this registration would have approved).
    const last = done.events.map((e) => e.type).filter((type) => type === "agent.approved" || type === "agent.approvalWithdrawn" || type === "agent.registered").at(-1);
    const approved = last ? last === "agent.approved" : autoApprove || known?.status === "approved";
    return { agentId, status: approved ? "approved" : "pending", record: agentRecord(known ?? { status: "none" }) };
  };
}
