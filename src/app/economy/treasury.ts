import type { CustodianSignature, CustodyPolicy } from "../../domain/economy/custody.js";
import { policyDocumentText } from "../../domain/economy/custody.js";
import { approvers, keyRotationDueAt, policySubject, type PolicyLine } from "../../domain/economy/policy.js";
import type { PolicyEvent } from "../../domain/economy/policyEvents.js";
import type { CursorKey, Page } from "../../projections/keyset.js";
import { policyLines, policyVersions, type PolicySummary, type PolicyVersion } from "../../projections/economy/queries.js";
import type { EconomyDeps } from "./deps.js";

/** How many of a line's versions its view lists, newest first. */
export const VERSIONS_SHOWN = 20;

export interface ProposedPolicy {
  readonly policyId: string;
  readonly version: number;
  readonly documentHash: string;
  /** The exact text each custodian signs (RFC 8785 canonical JSON): what the activation's signatures must be over. */
  readonly documentText: string;
  /** Who must sign it, and how many of them: the custodians in force, or for the first policy every custodian it names. */
  readonly approvers: { readonly custodians: readonly string[]; readonly threshold: number };
  readonly proposedAt: string;
}

export interface PolicyLineView {
  readonly policyId: string;
  readonly active: NonNullable<PolicyLine["active"]> | null;
  /** The version put to the custodians, with the document they sign and who must sign it. */
  readonly pending: (Omit<ProposedPolicy, "proposedAt"> & { readonly policy: CustodyPolicy }) | null;
  readonly keyRotationDueAt: Date | null;
  readonly versions: readonly PolicyVersion[];
}

function pendingOf(policyId: string, state: PolicyLine): PolicyLineView["pending"] {
  const who = approvers(state);
  if (!state.pending || !who) return null;
  const { version, documentHash, policy } = state.pending;
  return { policyId, version, documentHash, policy, documentText: policyDocumentText(policyId, version, policy), approvers: who };
}

/** The treasury's custody policies: proposed by an operator, taking effect only with its custodians' signatures, supplied in the request. */
export function treasury(deps: EconomyDeps) {
  const handle = deps.handlers.policy;

  async function lineView(summary: PolicySummary): Promise<PolicyLineView> {
    return {
      policyId: summary.policyId,
      active: summary.state.active ?? null,
      pending: pendingOf(summary.policyId, summary.state),
      keyRotationDueAt: keyRotationDueAt(summary.state) ?? null,
      versions: await policyVersions(deps.pool, summary.policyId, VERSIONS_SHOWN),
    };
  }

  return {
    /** The line whose policy in force names the coordinators that close issuance epochs. */
    votingPolicyId: deps.treasuryPolicyId,

    /** Puts a policy to the custodians as the line's next version; answers the document they are to sign. */
    async propose(policyId: string, policy: CustodyPolicy): Promise<ProposedPolicy> {
      const now = deps.now();
      const done = await handle(policySubject(policyId), { kind: "propose", policyId, policy, now }, { now });
      const proposed = done.events[0]!.data as Extract<PolicyEvent, { type: "policy.proposed" }>["data"];
      // Who must approve depends on the policy in force before: the stream says.
      const state = await handle.read(policySubject(policyId));
      return {
        policyId,
        version: proposed.version,
        documentHash: proposed.documentHash,
        documentText: policyDocumentText(policyId, proposed.version, proposed.policy),
        approvers: approvers(state) ?? { custodians: proposed.policy.custodians, threshold: proposed.policy.custodians.length },
        proposedAt: proposed.proposedAt,
      };
    },

    /** Takes the pending version into force with the custodians' signatures over its document; the decider refuses too few, a stranger's or a replayed one. */
    async activate(policyId: string, signatures: readonly CustodianSignature[]): Promise<{ policyId: string; version: number; documentHash: string; activatedAt: string }> {
      const now = deps.now();
      const done = await handle(policySubject(policyId), { kind: "activate", signatures: [...signatures], now }, { now });
      const activated = done.events[0]!.data as Extract<PolicyEvent, { type: "policy.activated" }>["data"];
      return { policyId, version: activated.version, documentHash: activated.documentHash, activatedAt: activated.activatedAt };
    },

    /** Policy lines in the order they were first proposed, each with its policy in force, the one pending, and its recent versions. */
    async lines(opts: { after?: CursorKey | undefined; limit: number }): Promise<Page<PolicyLineView>> {
      const page = await policyLines(deps.pool, opts);
      return { items: await Promise.all(page.items.map(lineView)), next: page.next };
    },

    /** The policy in force on the line whose coordinators close issuance epochs, as its stream holds it now. */
    async votingPolicy(): Promise<CustodyPolicy | undefined> {
      return (await handle.read(policySubject(deps.treasuryPolicyId))).active?.policy;
    },
  };
}

export type Treasury = ReturnType<typeof treasury>;
