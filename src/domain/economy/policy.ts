import { z } from "zod";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { AggregateId, subjectOf } from "../events/envelope.js";
import { approvalProblem, CustodianSignature, CustodyPolicy, MAX_CUSTODIANS, normalizedPolicy, policyDocumentHash, policyDocumentText, policyProblem } from "./custody.js";
import type { PolicyEvent } from "./policyEvents.js";

interface Version {
  readonly version: number;
  readonly policy: CustodyPolicy;
  readonly documentHash: string;
}

/**
 * A treasury's line of custody policies: the one in force and the one put to its custodians.
 * Each change is a new version of the same aggregate, so the policy in force (whose custodians
 * must approve the next) is in the state the decider sees.
 */
export interface PolicyLine {
  readonly policyId?: string;
  readonly active?: Version & { readonly activatedAt: string };
  readonly pending?: Version;
}

export const noPolicy = (): PolicyLine => ({});

export const PolicyCommand = z.discriminatedUnion("kind", [
  /** policyId is the aggregate's id (the subject's last token): the app passes the same. */
  z.object({ kind: z.literal("propose"), policyId: AggregateId, policy: CustodyPolicy, now: z.date() }),
  z.object({ kind: z.literal("activate"), signatures: z.array(CustodianSignature).min(1).max(MAX_CUSTODIANS), now: z.date() }),
]);
export type PolicyCommand = z.infer<typeof PolicyCommand>;

/**
 * Who must approve the pending policy, and how many of them. A change needs its threshold of
 * the policy in force's custodians: custody passes only from those who hold it. The first
 * policy has nobody before it (genesis), so it needs every custodian it names: each key holder
 * shows they hold their key and accept the role, and a mistyped or unheld key cannot sit in the
 * first set counting toward its threshold while no one can ever sign with it.
 */
export function approvers(state: PolicyLine): { readonly custodians: readonly string[]; readonly threshold: number } | undefined {
  if (state.active) return { custodians: state.active.policy.custodians, threshold: state.active.policy.quorumThreshold };
  return state.pending ? { custodians: state.pending.policy.custodians, threshold: state.pending.policy.custodians.length } : undefined;
}

/** When the custodians of the policy in force are due to rotate their keys. */
export function keyRotationDueAt(state: PolicyLine): Date | undefined {
  return state.active ? new Date(Date.parse(state.active.activatedAt) + state.active.policy.keyRotationDays * 86_400_000) : undefined;
}

export function policyRuleBreak(state: PolicyLine, event: PolicyEvent): RuleBreak | undefined {
  switch (event.type) {
    case "policy.proposed": {
      const { policyId, version, policy, documentHash } = event.data;
      if (state.policyId !== undefined && policyId !== state.policyId) return { code: "wrong_policy", message: `this is policy line ${state.policyId}, not ${policyId}` };
      const next = (state.active?.version ?? 0) + 1;
      if (version !== next) return { code: "wrong_version", message: `the next version is ${next}, the proposal says ${version}` };
      const problem = policyProblem(policy);
      if (problem) return problem;
      return documentHash === policyDocumentHash(policyId, version, policy) ? undefined : { code: "document_hash_mismatch", message: "the document hash is not the proposal's" };
    }
    case "policy.activated": {
      const { pending, policyId } = state;
      const who = approvers(state);
      if (!pending || policyId === undefined || !who) return { code: "no_pending_policy", message: "no policy is waiting for its custodians" };
      if (event.data.version !== pending.version || event.data.documentHash !== pending.documentHash) {
        return { code: "not_pending_document", message: `the signatures are for version ${event.data.version}, the pending proposal is version ${pending.version}` };
      }
      return approvalProblem(policyDocumentText(policyId, pending.version, pending.policy), event.data.signatures, who.custodians, who.threshold);
    }
    default:
      return assertNever(event);
  }
}

export function evolvePolicy(state: PolicyLine, event: PolicyEvent): PolicyLine {
  switch (event.type) {
    case "policy.proposed": {
      const { policyId, version, policy, documentHash } = event.data;
      return { ...state, policyId, pending: { version, policy, documentHash } };
    }
    case "policy.activated":
      return state.pending ? { policyId: state.policyId, active: { ...state.pending, activatedAt: event.data.activatedAt } } : state;
    default:
      return assertNever(event);
  }
}

const rules = { ruleBreak: policyRuleBreak, evolve: evolvePolicy };

/**
 * Puts a policy to the custodians as the next version. A newer proposal replaces one still
 * pending (signatures gathered for the old text cannot approve the new one: the text differs).
 */
export function proposePolicy(command: Extract<PolicyCommand, { kind: "propose" }>, state: PolicyLine): PolicyEvent[] {
  const policy = normalizedPolicy(command.policy);
  const version = (state.active?.version ?? 0) + 1;
  const documentHash = policyDocumentHash(command.policyId, version, policy);
  return requireRules(rules, state, [{ type: "policy.proposed", data: { policyId: command.policyId, version, policy, documentHash, proposedAt: command.now.toISOString() } }]);
}

export function activatePolicy(command: Extract<PolicyCommand, { kind: "activate" }>, state: PolicyLine): PolicyEvent[] {
  if (!state.pending) throw new DomainRuleViolation("no_pending_policy", "no policy is waiting for its custodians");
  const { version, documentHash } = state.pending;
  return requireRules(rules, state, [{ type: "policy.activated", data: { version, documentHash, signatures: command.signatures, activatedAt: command.now.toISOString() } }]);
}

export function decidePolicy(command: PolicyCommand, state: PolicyLine): PolicyEvent[] {
  switch (command.kind) {
    case "propose":
      return proposePolicy(command, state);
    case "activate":
      return activatePolicy(command, state);
    default:
      return assertNever(command);
  }
}

export const custodyPolicyDecider: Decider<PolicyCommand, PolicyLine, PolicyEvent> = {
  initialState: noPolicy,
  decide: decidePolicy,
  evolve: evolvePolicy,
  ruleBreak: policyRuleBreak,
};

/** ec.economy.policy.<policyId>: one treasury's line of custody policies. */
export const policySubject = (policyId: string) => subjectOf("economy", "policy", policyId);
