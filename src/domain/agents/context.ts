import type { BoundedContext } from "../context.js";
import { aggregateKind } from "../context.js";
import { agentDecider, agentSubject } from "./agent.js";
import { agentEventSpecs } from "./agentEvents.js";

export const agentAggregate = aggregateKind({ kind: "agent", decider: agentDecider, events: agentEventSpecs, subject: agentSubject });

/** Agents: registration, approval, the blacklist and the record of checked results. */
export const agentsContext = {
  name: "agents",
  stream: "EC_AGENTS",
  events: agentEventSpecs,
  aggregates: [agentAggregate],
  chained: true,
} as const satisfies BoundedContext;
