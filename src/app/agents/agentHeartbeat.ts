import type { HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import { agentRecord, type Agent } from "../../domain/agents/agent.js";
import { deviceTypeRefusal } from "../../domain/agents/eligibility.js";
import type { PowerTelemetry } from "../../domain/agents/powerPolicy.js";
import type { AgentRecord } from "../../domain/agents/record.js";
import { refusal, type Refusal } from "../commands.js";
import type { AgentDirectory } from "./agentDirectory.js";

export interface AgentHeartbeatDeps {
  readonly directory: AgentDirectory;
  readonly heartbeats: HeartbeatStore;
  readonly now: () => Date;
}

export interface Beaten {
  readonly status: Agent["status"];
  readonly record: AgentRecord;
}

export const unknownAgent = () => refusal("unknown_agent", "no agent registered with this key; POST /register first");

/**
 * The agent, if it may be heard from with this telemetry: registered, and on the device type it
 * registered with (fixed at registration, so the power policy's row cannot be picked request by
 * request).
 */
export async function knownAgent(directory: AgentDirectory, agentId: string, power: PowerTelemetry): Promise<Agent | Refusal<"unknown_agent" | "device_type_changed">> {
  const agent = await directory.agent(agentId);
  const changed = agent && deviceTypeRefusal(agent, power);
  if (changed) return refusal("device_type_changed", changed);
  return agent ?? unknownAgent();
}

/**
 * An agent says it is alive, with its power telemetry and the models it has loaded now. A beat
 * can only say less than the registration: a model is claimed by registering with it (where a
 * claim beyond the approved profile is reviewed), never by a heartbeat.
 */
export function agentHeartbeat(deps: AgentHeartbeatDeps) {
  return async (agentId: string, beat: { power: PowerTelemetry; models?: readonly string[] | undefined }): Promise<Beaten | Refusal<"unknown_agent" | "device_type_changed">> => {
    const agent = await knownAgent(deps.directory, agentId, beat.power);
    if ("refused" in agent) return agent;
    const registered = agent.status === "none" ? [] : (agent.profile?.capabilities.models ?? []);
    const models = beat.models?.filter((m) => registered.includes(m));
    await deps.heartbeats.beat(agentId, { at: deps.now().getTime(), power: beat.power, ...(models ? { models } : {}) });
    return { status: agent.status, record: agentRecord(agent) };
  };
}
