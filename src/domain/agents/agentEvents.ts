import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { AgentCapabilities } from "./capabilities.js";
import { DeviceType } from "./powerPolicy.js";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";

export const AgentProfile = z.object({
  name: z.string().max(100).optional(),
  mode: z.enum(["worker", "ide"]),
  capabilities: AgentCapabilities,
  /** Fixed at registration: a pull or heartbeat that reports another is refused. Absent in profiles registered before it was recorded. */
  deviceType: DeviceType.optional(),
  /**
   * The account that owns the agent: its keys' open leases are capped together (one owner's many
   * keys cannot take all the work), and it is whom the agent's work will pay. Naming another
   * owner later is a change the approval must cover again.
   */
  owner: AggregateId.optional(),
});
export type AgentProfile = z.infer<typeof AgentProfile>;

const Actor = z.string().min(1).max(200);

export const agentRegistered = eventSpec("agent.registered", 1, AgentProfile);
export const agentProfileChanged = eventSpec("agent.profileChanged", 1, AgentProfile);
export const agentApproved = eventSpec("agent.approved", 1, z.object({ by: Actor }));
export const agentBlacklisted = eventSpec(
  "agent.blacklisted",
  1,
  z.object({
    by: Actor,
    reason: z.string().min(1).max(500),
    /** SHA-256 (hex) of the evidence document the decision rests on; absent in events recorded before it was kept. */
    evidenceHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
);
/** The agent registered a profile beyond what was approved (a model, a language, gpu, ...): it waits for approval again. */
export const agentApprovalWithdrawn = eventSpec("agent.approvalWithdrawn", 1, z.object({ reason: z.string().min(1).max(500) }));
/** One of the agent's results was checked (re-run where it could not tamper): its record of checked results. */
export const agentResultChecked = eventSpec(
  "agent.resultChecked",
  1,
  z.object({ subtaskId: AggregateId, leaseId: AggregateId, ok: z.boolean(), reason: z.string().min(1).max(500).optional(), at: z.iso.datetime({ offset: false }) }),
);

/** An operator named the account the agent's work pays: it stands over what the agent registers. */
export const agentOwnerChanged = eventSpec("agent.ownerChanged", 1, z.object({ owner: AggregateId, by: Actor }));

export const agentEventSpecs = [agentRegistered, agentProfileChanged, agentApproved, agentBlacklisted, agentApprovalWithdrawn, agentResultChecked, agentOwnerChanged] as const;
export const agentEvents = eventRegistry(...agentEventSpecs);
export type AgentEvent = DraftOf<(typeof agentEventSpecs)[number]>;
