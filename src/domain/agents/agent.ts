import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { AggregateId, subjectOf } from "../events/envelope.js";
import { AgentProfile, type AgentEvent } from "./agentEvents.js";
import { beyondApproved, canonicalProfile } from "./profileReview.js";
import { checkKey, noRecord, recordAfter, REMEMBERED_CHECKS, type AgentRecord } from "./record.js";

export type { AgentRecord } from "./record.js";

/** What every known agent carries: its record of checked results, and the checks it remembers (checkKey). */
interface Known {
  readonly record: AgentRecord;
  readonly checks: readonly string[];
  /** The owner an operator named (agent.ownerChanged): what the agent registers cannot change it. */
  readonly ownerSetBy?: { readonly owner: string; readonly by: string };
}

/** An agent is known by its public key: registered (pending or approved), or blacklisted for good. */
export type Agent =
  | { readonly status: "none" }
  | ({ readonly status: "pending"; readonly profile: AgentProfile } & Known)
  | ({
      readonly status: "approved";
      readonly profile: AgentProfile;
      /** Who approved: "auto-approval" (the coordinator's policy) or an operator. */
      readonly approvedBy: string;
      /** The profile as it was approved: registering beyond it needs approval again. */
      readonly approvedProfile: AgentProfile;
    } & Known)
  | ({ readonly status: "blacklisted"; readonly profile?: AgentProfile; readonly reason: string } & Known);

export const noAgent = (): Agent => ({ status: "none" });

/** The record of any agent state: an unknown key has none (zeros). */
export const agentRecord = (state: Agent): AgentRecord => (state.status === "none" ? noRecord : state.record);

/** The approver named when the coordinator's policy (EC_AUTO_APPROVE_AGENTS) approves. */
export const AUTO_APPROVAL = "auto-approval";

const Actor = z.string().min(1).max(200);
export const AgentCommand = z.discriminatedUnion("kind", [
  /** autoApprove: the coordinator's policy approves this registration (its own worker, open meshes). */
  z.object({ kind: z.literal("register"), profile: AgentProfile, autoApprove: z.boolean() }),
  z.object({ kind: z.literal("approve"), by: Actor }),
  z.object({ kind: z.literal("blacklist"), by: Actor, reason: z.string().min(1).max(500), evidenceHash: z.string().regex(/^[0-9a-f]{64}$/).optional() }),
  /** An operator names the account the agent's work pays. */
  z.object({ kind: z.literal("setOwner"), owner: AggregateId, by: Actor }),
  /** A result of the agent's was checked; recording the same (subtask, lease) again does nothing. */
  z.object({
    kind: z.literal("recordCheck"),
    subtaskId: AggregateId,
    leaseId: AggregateId,
    ok: z.boolean(),
    reason: z.string().min(1).max(500).optional(),
    now: z.date(),
  }),
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
    case "agent.approvalWithdrawn":
      return state.status === "approved" ? undefined : { code: "not_approved", message: `the agent is ${state.status}, not approved` };
    case "agent.blacklisted":
      return state.status === "blacklisted" ? { code: "blacklisted", message: "the agent is blacklisted already" } : undefined;
    case "agent.ownerChanged":
      return state.status === "none" ? { code: "not_registered", message: "no agent registered with this key" } : undefined;
    case "agent.resultChecked":
      if (state.status === "none") return { code: "not_registered", message: "no agent registered with this key" };
      return state.checks.includes(checkKey(event.data.subtaskId, event.data.leaseId))
        ? { code: "already_checked", message: `the result of lease ${event.data.leaseId} on ${event.data.subtaskId} was checked before` }
        : undefined;
    default:
      return assertNever(event);
  }
}

const known = (state: Agent): Known =>
  state.status === "none" ? { record: noRecord, checks: [] } : { record: state.record, checks: state.checks, ...(state.ownerSetBy ? { ownerSetBy: state.ownerSetBy } : {}) };

const ownedBy = (profile: AgentProfile, owner: string): AgentProfile => ({ ...profile, owner });

export function evolveAgent(state: Agent, event: AgentEvent): Agent {
  switch (event.type) {
    case "agent.registered":
      return { status: "pending", profile: event.data, ...known(state) };
    case "agent.profileChanged":
      return state.status === "pending" || state.status === "approved" ? { ...state, profile: event.data } : state;
    case "agent.approved":
      return state.status === "pending"
        ? { status: "approved", profile: state.profile, approvedBy: event.data.by, approvedProfile: state.profile, ...known(state) }
        : state;
    case "agent.approvalWithdrawn":
      return state.status === "approved" ? { status: "pending", profile: state.profile, ...known(state) } : state;
    case "agent.blacklisted":
      return { status: "blacklisted", ...(state.status === "none" ? {} : { profile: state.profile }), reason: event.data.reason, ...known(state) };
    case "agent.ownerChanged": {
      if (state.status === "none") return state;
      const ownerSetBy = { owner: event.data.owner, by: event.data.by };
      if (state.status === "approved") return { ...state, profile: ownedBy(state.profile, event.data.owner), approvedProfile: ownedBy(state.approvedProfile, event.data.owner), ownerSetBy };
      if (state.status === "pending") return { ...state, profile: ownedBy(state.profile, event.data.owner), ownerSetBy };
      return { ...state, ...(state.profile ? { profile: ownedBy(state.profile, event.data.owner) } : {}), ownerSetBy };
    }
    case "agent.resultChecked": {
      if (state.status === "none") return state;
      const key = checkKey(event.data.subtaskId, event.data.leaseId);
      return { ...state, record: recordAfter(state.record, event.data), checks: [...state.checks, key].slice(-REMEMBERED_CHECKS) };
    }
    default:
      return assertNever(event);
  }
}

const rules = { ruleBreak: agentRuleBreak, evolve: evolveAgent };
function refuseBlacklisted(state: Agent): asserts state is Exclude<Agent, { status: "blacklisted" }> {
  if (state.status === "blacklisted") throw new DomainRuleViolation("blacklisted", `the agent is blacklisted: ${state.reason}`);
}
const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * Registering again is how a worker reports new models or languages. A profile the same after
 * canonicalProfile appends nothing. One within what was approved (less, or another name) is
 * recorded and keeps the approval. One beyond it loses the approval, whoever gave it, and the
 * policy decides again as for a newcomer: an operator's approval covered what the operator saw.
 */
function register(command: Extract<AgentCommand, { kind: "register" }>, state: Agent): AgentEvent[] {
  refuseBlacklisted(state);
  // The owner an operator named stands: the agent's own word on it is not taken over it.
  const profile = canonicalProfile(state.status !== "none" && state.ownerSetBy ? ownedBy(command.profile, state.ownerSetBy.owner) : command.profile);
  const policyApproval: AgentEvent[] = command.autoApprove ? [{ type: "agent.approved", data: { by: AUTO_APPROVAL } }] : [];
  if (state.status === "none") return requireRules(rules, state, [{ type: "agent.registered", data: profile }, ...policyApproval]);
  const changed: AgentEvent[] = isDeepStrictEqual(canonicalProfile(state.profile), profile) ? [] : [{ type: "agent.profileChanged", data: profile }];
  if (state.status === "pending") return requireRules(rules, state, [...changed, ...policyApproval]);
  const beyond = beyondApproved(state.approvedProfile, profile);
  if (beyond.length === 0) return requireRules(rules, state, changed);
  const reason = cut(`registered beyond its approved profile: ${beyond.join(", ")}`, 500);
  return requireRules(rules, state, [...changed, { type: "agent.approvalWithdrawn", data: { reason } }, ...policyApproval]);
}

export function decideAgent(command: AgentCommand, state: Agent): AgentEvent[] {
  switch (command.kind) {
    case "register":
      return register(command, state);
    case "approve":
      refuseBlacklisted(state);
      if (state.status === "none") throw new DomainRuleViolation("not_registered", "no agent registered with this key");
      return state.status === "approved" ? [] : requireRules(rules, state, [{ type: "agent.approved", data: { by: command.by } }]);
    case "blacklist":
      return requireRules(rules, state, [
        { type: "agent.blacklisted", data: { by: command.by, reason: command.reason, ...(command.evidenceHash ? { evidenceHash: command.evidenceHash } : {}) } },
      ]);
    case "setOwner":
      if (state.status === "none") throw new DomainRuleViolation("not_registered", "no agent registered with this key");
      if (state.ownerSetBy?.owner === command.owner) return [];
      return requireRules(rules, state, [{ type: "agent.ownerChanged", data: { owner: command.owner, by: command.by } }]);
    case "recordCheck": {
      if (state.status === "none") throw new DomainRuleViolation("not_registered", "no agent registered with this key", true);
      // A checker that retries (or two that race) records the check once.
      if (state.checks.includes(checkKey(command.subtaskId, command.leaseId))) return [];
      const { subtaskId, leaseId, ok, reason } = command;
      return requireRules(rules, state, [{ type: "agent.resultChecked", data: { subtaskId, leaseId, ok, ...(reason ? { reason } : {}), at: command.now.toISOString() } }]);
    }
    default:
      return assertNever(command);
  }
}

export const agentDecider: Decider<AgentCommand, Agent, AgentEvent> = { initialState: noAgent, decide: decideAgent, evolve: evolveAgent, ruleBreak: agentRuleBreak };
export const agentSubject = (agentId: string) => subjectOf("agents", "agent", agentId);
