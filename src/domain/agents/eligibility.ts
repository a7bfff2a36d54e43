import type { Agent } from "./agent.js";
import type { AgentCapabilities } from "./capabilities.js";
import { powerPolicy, type PowerTelemetry } from "./powerPolicy.js";

/** A subtask counts as small (for a laptop on a half-empty battery) when it may run this long at most. */
export const SMALL_SUBTASK_MAX_MS = 15_000;

/** Which queued subtasks an eligible agent may claim. */
export interface ClaimFilter {
  readonly languages: readonly string[];
  readonly models: readonly string[];
  readonly resourceClasses: readonly ("cpu" | "gpu")[];
  readonly maxTimeoutMs?: number;
  /** Whether subtasks of tasks that asked for a sandbox may go to this agent. */
  readonly sandboxed: boolean;
}

export type Eligibility =
  | { readonly eligible: true; readonly filter: ClaimFilter }
  | {
      readonly eligible: false;
      readonly reason: "not_approved" | "blacklisted" | "power_blocked" | "power_deferred" | "no_model" | "sandbox_required";
      readonly message: string;
      readonly deferMs?: number;
    };

/**
 * Why a heartbeat or pull must be refused for the device type it reports, if it must: the type
 * is fixed at registration, so the power policy's row (a server's, a laptop's) cannot be picked
 * request by request. A profile registered before the type was recorded, and a blacklisted
 * agent (refused anyway), are not checked.
 */
export function deviceTypeRefusal(agent: Agent, power: Pick<PowerTelemetry, "deviceType">): string | undefined {
  if (agent.status !== "pending" && agent.status !== "approved") return undefined;
  const registered = agent.profile.deviceType;
  if (registered === undefined || registered === power.deviceType) return undefined;
  return `this agent registered as a ${registered} and reports a ${power.deviceType}; a device type is fixed at registration (register again with the new one, which needs approval again)`;
}

/**
 * Whether an agent may take coordinator work now, and which: approval and blacklist first, then
 * the node's sandbox policy, a model to write code with, and last the power policy of its device.
 */
export function eligibility(agent: Agent, power: PowerTelemetry, opts: { sandboxRequired: boolean }): Eligibility {
  if (agent.status === "blacklisted") return { eligible: false, reason: "blacklisted", message: `blacklisted: ${agent.reason}` };
  if (agent.status !== "approved") return { eligible: false, reason: "not_approved", message: "the agent waits for approval by an operator" };
  const caps: AgentCapabilities = agent.profile.capabilities;
  if (caps.sandbox === "none" && opts.sandboxRequired) {
    return { eligible: false, reason: "sandbox_required", message: "this coordinator requires a sandbox (SANDBOX_REQUIRED=true); the agent runs code without one" };
  }
  if (caps.models.length === 0) return { eligible: false, reason: "no_model", message: "the agent has no model to write code with" };
  const { coordinatorTasks, rule } = powerPolicy(power);
  switch (coordinatorTasks.kind) {
    case "blocked":
      return { eligible: false, reason: "power_blocked", message: `power policy: ${rule}` };
    case "deferred":
      return { eligible: false, reason: "power_deferred", message: `power policy: ${rule}`, deferMs: coordinatorTasks.deferMs };
    case "allowed":
    case "smallOnly":
      return {
        eligible: true,
        filter: {
          languages: caps.languages,
          models: caps.models,
          // A GPU agent takes CPU work too; a CPU agent never gets work that asked for a GPU.
          resourceClasses: caps.resourceClass === "gpu" ? ["cpu", "gpu"] : ["cpu"],
          ...(coordinatorTasks.kind === "smallOnly" ? { maxTimeoutMs: SMALL_SUBTASK_MAX_MS } : {}),
          sandboxed: caps.sandbox !== "none",
        },
      };
  }
}
