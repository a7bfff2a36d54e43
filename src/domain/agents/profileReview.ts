import type { AgentProfile } from "./agentEvents.js";

const sortedUnique = <T extends string>(items: readonly T[]): T[] => [...new Set(items)].sort();

/**
 * A profile as the agent means it: models and languages are sets (their order and repeats say
 * nothing), and keys come in one order. Two registrations that differ only in that are the same
 * registration, and the second appends nothing.
 */
export function canonicalProfile(p: AgentProfile): AgentProfile {
  const c = p.capabilities;
  return {
    ...(p.name !== undefined ? { name: p.name } : {}),
    mode: p.mode,
    capabilities: {
      models: sortedUnique(c.models),
      languages: sortedUnique(c.languages),
      sandbox: c.sandbox,
      resourceClass: c.resourceClass,
      maxConcurrent: c.maxConcurrent,
    },
    ...(p.deviceType !== undefined ? { deviceType: p.deviceType } : {}),
    ...(p.owner !== undefined ? { owner: p.owner } : {}),
  };
}

/**
 * What a profile claims beyond the one that was approved, in words (empty: nothing). Claiming
 * less is no new claim (a worker whose model server went away registers with no model, and
 * with it again when it is back); the name is not a capability. A device type is compared only
 * when the approved profile had one (profiles from before it was recorded did not).
 */
export function beyondApproved(approved: AgentProfile, next: AgentProfile): string[] {
  const a = approved.capabilities;
  const n = next.capabilities;
  const beyond: string[] = [];
  if (next.mode !== approved.mode) beyond.push(`mode ${next.mode} (approved: ${approved.mode})`);
  if (approved.deviceType !== undefined && next.deviceType !== approved.deviceType) {
    beyond.push(`device type ${next.deviceType ?? "unstated"} (approved: ${approved.deviceType})`);
  }
  if (next.owner !== approved.owner) beyond.push(`owner ${next.owner ?? "none"} (approved: ${approved.owner ?? "none"})`);
  if (n.sandbox !== a.sandbox) beyond.push(`sandbox ${n.sandbox} (approved: ${a.sandbox})`);
  if (n.resourceClass === "gpu" && a.resourceClass !== "gpu") beyond.push("resource class gpu");
  if (n.maxConcurrent > a.maxConcurrent) beyond.push(`maxConcurrent ${n.maxConcurrent} (approved: ${a.maxConcurrent})`);
  for (const language of n.languages) if (!a.languages.includes(language)) beyond.push(`language ${language}`);
  for (const model of n.models) if (!a.models.includes(model)) beyond.push(`model ${model}`);
  return beyond;
}
