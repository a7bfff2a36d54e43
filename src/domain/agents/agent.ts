import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { AgentProfile, type AgentEvent } from "./agentEvents.js";

/** An agent is known by its public key: registered (pending or approved), or blacklisted for good. */
export type Agent =
  | { readonly status: "none" }
  | { readonly status: "pending" | "approved"; readonly profile: AgentProfile }
  | { readonly status: "blacklisted"; readonly profile?: AgentProfile; readonly reason: string };

export const noAgent = (): Agent => ({ status: "none" });

const Actor = z.string().min(1).max(200);
export const AgentCommand = z.discriminatedUnion("kind", [
  /** autoApprove: this coordinator admits new agents without a person (its own worker, open meshes). */
  z.object({ kind: z.literal("register"), profile: AgentProfile, autoApprove: z.boolean() }),
  z.object({ kind: z.literal("approve"), by: Actor }),
  z.object({ kind: z.literal("blacklist"), by: Actor, reason: z.string().min(1).max(500) }),
]);
export type AgentCommand = z.infer<typeof AgentCommand>;

export function agentRuleBreak(state: Agent, event: AgentEvent): RuleBreak | undefined {
  switch (event.type) {
    case "agent.registered":
      return state.status === "none" ? undefined : { code: "already_registered", message: "the agent registered before" };
    case "agent.profileChanged":
      return state.status === "pending" || state.status === "approved" ? undefined : { code: "not_registered", message: `the agent is ${state.status}` };
    case "agent.approved":
      return state.status === "pending" ? undefined : { code: "not_pending", message: `the agent is ${state.status}, not waiting for approval` };
    case "agent.blacklisted":
      return state.status === "blacklisted" ? { code: "blacklisted", message: "the agent is blacklisted already" } : undefined;
    default:
      return assertNever(event);
  }
}

export function evolveAgent(state: Agent, event: AgentEvent): Agent {
  switch (event.type) {
    case "agent.registered":
      return { status: "pending", profile: event.data };
    case "agent.profileChanged":
      return state.status === "pending" || state.status === "approved" ? { ...state, profile: event.data } : state;
    case "agent.approved":
      return state.status === "pending" ? { status: "approved", profile: state.profile } : state;
    case "agent.blacklisted":
      return { status: "blacklisted", ...(state.status === "none" ? {} : { profile: state.profile }), reason: event.data.reason };
    default:
      return assertNever(event);
  }
}

const rules = { ruleBreak: agentRuleBreak, evolve: evolveAgent };
const refuseBlacklisted = (state: Agent) => {
  if (state.status === "blacklisted") throw new DomainRuleViolation("blacklisted", `the agent is blacklisted: ${state.reason}`);
};

export function decideAgent(command: AgentCommand, state: Agent): AgentEvent[] {
  switch (command.kind) {
    case "register": {
      refuseBlacklisted(state);
      const approval: AgentEvent[] = command.autoApprove && state.status !== "approved" ? [{ type: "agent.approved", data: { by: "auto-approval" } }] : [];
      if (state.status === "none") return requireRules(rules, state, [{ type: "agent.registered", data: command.profile }, ...approval]);
      // Registering again is how a worker reports new models or languages; the same profile changes nothing.
      const changed: AgentEvent[] = isDeepStrictEqual(state.profile, command.profile) ? [] : [{ type: "agent.profileChanged", data: command.profile }];
      return requireRules(rules, state, [...changed, ...approval]);
    }
    case "approve":
      refuseBlacklisted(state);
      if (state.status === "none") throw new DomainRuleViolation("not_registered", "no agent registered with this key");
      return state.status === "approved" ? [] : requireRules(rules, state, [{ type: "agent.approved", data: { by: command.by } }]);
    case "blacklist":
      return requireRules(rules, state, [{ type: "agent.blacklisted", data: { by: command.by, reason: command.reason } }]);
    default:
      return assertNever(command);
  }
}

export const agentDecider: Decider<AgentCommand, Agent, AgentEvent> = { initialState: noAgent, decide: decideAgent, evolve: evolveAgent, ruleBreak: agentRuleBreak };
export const agentSubject = (agentId: string) => `ec.agents.${agentId}`;
