import { epochSubject, quorumOf } from "../../domain/economy/epoch.js";
import { epochEnd, epochIdAt, epochStart } from "../../domain/economy/epochId.js";
import { epochRecordHash, type Allocation, type EpochRecord } from "../../domain/economy/epochRecord.js";
import { computeEpochRecord } from "../../domain/economy/issuance.js";
import type { CursorKey, Page } from "../../projections/keyset.js";
import { epochAllocations, epochById, epochTally, finalEpochs, latestFinalEpoch, voteOf, type EpochSummary, type TalliedRecord } from "../../projections/economy/queries.js";
import { refusal, type Refusal } from "../commands.js";
import { coordinatorAccountOf } from "../credits/nodeAccounts.js";
import type { EconomyDeps } from "./deps.js";
import { epochFacts, RESERVE_ACCOUNT } from "./epochFacts.js";
import type { Treasury } from "./treasury.js";

const HOUR_MS = 3_600_000;

export interface EpochVote {
  readonly epochId: string;
  readonly coordinatorId: string;
  readonly recordHash: string;
  readonly record: EpochRecord;
  /** Whether this vote brought one record to a quorum of approved coordinators. */
  readonly final: boolean;
  readonly events: readonly string[];
}

export interface EpochQuorum {
  readonly epoch: EpochSummary;
  /** Against the policy in force now: how many coordinators it approves, and how many must agree. */
  readonly quorum: { readonly approved: number; readonly needed: number } | null;
  readonly records: readonly TalliedRecord[];
}

/** The hour before the one running at `now`: the newest epoch that is over. */
export const lastEndedEpoch = (now: Date) => epochIdAt(new Date(now.getTime() - HOUR_MS));

/**
 * Hourly issuance: this coordinator computes an epoch's record from the facts every
 * coordinator reads alike (epochFacts) and votes for it, signed with its own key; a quorum of
 * the approved coordinators on one record makes the epoch final. Disagreement stays visible.
 */
export function issuance(deps: EconomyDeps, treasury: Pick<Treasury, "votingPolicy">) {
  async function record(epochId: string, approvedCoordinators: readonly string[]): Promise<EpochRecord> {
    return computeEpochRecord({
      ...(await epochFacts(deps.pool, epochId)),
      // A coordinator's account follows from its key, so the policy's list names the accounts too.
      coordinatorAccounts: approvedCoordinators.map(coordinatorAccountOf),
      reserveAccount: RESERVE_ACCOUNT,
    });
  }

  return {
    /**
     * Votes, as this node, for the record it computes of `epochId` (the newest ended one unless
     * given). The approved coordinators are the voting policy's; the decider refuses a vote
     * from one it does not approve, a second vote, and a vote on an hour not over yet.
     */
    async vote(epochId?: string): Promise<EpochVote | Refusal<"no_custody_policy">> {
      const now = deps.now();
      const id = epochId ?? lastEndedEpoch(now);
      const policy = await treasury.votingPolicy();
      if (!policy) return refusal("no_custody_policy", `no custody policy is in force on line ${deps.treasuryPolicyId}: it names the coordinators that close issuance epochs`);
      const computed = await record(id, policy.approvedCoordinators);
      const done = await deps.handlers.epoch(
        epochSubject(id),
        { kind: "vote", coordinatorId: deps.nodeKey, record: computed, approvedCoordinators: policy.approvedCoordinators, now },
        { now, commandId: `vote:${id}:${deps.nodeKey}` },
      );
      const types = done.events.map((e) => e.type);
      return { epochId: id, coordinatorId: deps.nodeKey, recordHash: epochRecordHash(computed), record: computed, final: types.includes("epoch.finalized"), events: types };
    },

    /** Whether this node voted on an epoch (as the projection shows). */
    voted: (epochId: string) => voteOf(deps.pool, epochId, deps.nodeKey).then((v) => v !== undefined),

    /** Each distinct record voted for in the epoch and its signers, and the quorum the policy in force asks. */
    async quorum(epochId: string): Promise<EpochQuorum | Refusal<"unknown_epoch">> {
      const epoch = await epochById(deps.pool, epochId);
      if (!epoch) return refusal("unknown_epoch", `no votes on epoch ${epochId} yet`);
      const [records, policy] = await Promise.all([epochTally(deps.pool, epochId), treasury.votingPolicy()]);
      const approved = policy ? new Set(policy.approvedCoordinators).size : undefined;
      return { epoch, quorum: approved === undefined ? null : { approved, needed: quorumOf(approved) }, records };
    },

    /** The hour running now, and the newest final epoch with its allocations. */
    async current(): Promise<{ running: { epochId: string; startsAt: Date; endsAt: Date }; latestFinal: (EpochSummary & { record: EpochRecord; allocations: Allocation[] }) | null }> {
      const now = deps.now();
      const running = epochIdAt(now);
      const latest = await latestFinalEpoch(deps.pool);
      return {
        running: { epochId: running, startsAt: epochStart(running), endsAt: epochEnd(running) },
        latestFinal: latest ? { ...latest, allocations: await epochAllocations(deps.pool, latest.epochId) } : null,
      };
    },

    history: (opts: { before?: CursorKey | undefined; limit: number }): Promise<Page<EpochSummary>> => finalEpochs(deps.pool, opts),
  };
}

export type Issuance = ReturnType<typeof issuance>;
