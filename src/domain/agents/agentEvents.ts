import { z } from "zod";
import { AgentCapabilities } from "./capabilities.js";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";

export const AgentProfile = z.object({
  name: z.string().max(100).optional(),
  mode: z.enum(["worker", "ide"]),
  capabilities: AgentCapabilities,
});
export type AgentProfile = z.infer<typeof AgentProfile>;

const Actor = z.string().min(1).max(200);

export const agentRegistered = eventSpec("agent.registered", 1, AgentProfile);
export const agentProfileChanged = eventSpec("agent.profileChanged", 1, AgentProfile);
export const agentApproved = eventSpec("agent.approved", 1, z.object({ by: Actor }));
export const agentBlacklisted = eventSpec("agent.blacklisted", 1, z.object({ by: Actor, reason: z.string().min(1).max(500) }));

export const agentEventSpecs = [agentRegistered, agentProfileChanged, agentApproved, agentBlacklisted] as const;
export const agentEvents = eventRegistry(...agentEventSpecs);
export type AgentEvent = DraftOf<(typeof agentEventSpecs)[number]>;
