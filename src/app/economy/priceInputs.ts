import pLimit from "p-limit";
import { isAlive } from "../../adapters/agents/heartbeats.js";
import type { PriceInputs } from "../../domain/economy/pricing.js";
import type { ResourceClass } from "../../domain/economy/units.js";
import { approvedAgents, queueByClass } from "../../projections/economy/facts.js";
import type { EconomyDeps } from "./deps.js";

const CLASSES: readonly ResourceClass[] = ["cpu", "gpu"];

/**
 * What this coordinator prices each resource class from, as it sees the mesh now:
 * - queued: subtasks of the class waiting for an agent (status queued, tasks projection): demand
 *   not served yet.
 * - agents: subtasks of the class under a lease (status assigned): demand being served, one busy
 *   agent slot each. The formula's demand is queued + agents.
 * - capacity: what the class can run at once: the active approved agents of the class (agents
 *   projection, status approved), each counted by the subtasks it runs at once (its registered
 *   maxConcurrent). Active means a heartbeat younger than three intervals, the lease reaper's
 *   rule; without a heartbeat store every approved agent counts.
 */
export async function priceInputsNow(deps: Pick<EconomyDeps, "pool" | "heartbeats" | "heartbeatIntervalMs" | "now">): Promise<Record<ResourceClass, PriceInputs>> {
  const [queue, agents] = await Promise.all([queueByClass(deps.pool), approvedAgents(deps.pool)]);
  const now = deps.now().getTime();
  const beat = pLimit(16);
  const alive = deps.heartbeats
    ? await Promise.all(agents.map((a) => beat(async () => isAlive(await deps.heartbeats!.last(a.agentId), deps.heartbeatIntervalMs, now))))
    : agents.map(() => true);
  const capacity: Record<ResourceClass, number> = { cpu: 0, gpu: 0 };
  agents.forEach((a, i) => {
    if (alive[i]) capacity[a.resourceClass] += a.maxConcurrent;
  });
  return Object.fromEntries(
    CLASSES.map((resourceClass) => [resourceClass, { resourceClass, queued: queue[resourceClass].queued, agents: queue[resourceClass].leased, capacity: capacity[resourceClass] }]),
  ) as Record<ResourceClass, PriceInputs>;
}
