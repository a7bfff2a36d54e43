import { z } from "zod";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { subjectOf } from "../events/envelope.js";
import { MAX_COORDINATORS, type EpochEvent } from "./epochEvents.js";
import { epochEnd } from "./epochId.js";
import { allocatedTotal, EpochRecord, epochRecordHash } from "./epochRecord.js";
import { CoordinatorId } from "./units.js";

/** An issuance epoch's votes: who voted for which record, and the outcome once a quorum agreed. */
export interface Epoch {
  /** The epoch the votes are about, from the first vote's record. */
  readonly epochId?: string;
  readonly votes: readonly { readonly coordinatorId: string; readonly recordHash: string }[];
  /** Each distinct record voted for, in order of its first vote. */
  readonly records: readonly { readonly recordHash: string; readonly record: EpochRecord }[];
  readonly final?: { readonly recordHash: string; readonly signers: readonly string[] };
}

export const openEpoch = (): Epoch => ({ votes: [], records: [] });

/** A majority of the approved coordinators: floor(n/2) + 1. */
export const quorumOf = (approved: number) => Math.floor(approved / 2) + 1;

const ApprovedCoordinators = z.array(CoordinatorId).max(MAX_COORDINATORS);

export const EpochCommand = z.discriminatedUnion("kind", [
  /**
   * The approved set is the active custody policy's, read by the app. The vote's coordinatorId
   * must be the key that signs the vote's envelope; the decider does not see envelopes, so that
   * check is the app's (the command handler's caller compares it with its signer).
   */
  z.object({ kind: z.literal("vote"), coordinatorId: CoordinatorId, record: EpochRecord, approvedCoordinators: ApprovedCoordinators, now: z.date() }),
  /** Finalizes on votes already cast, for when the approved set shrank after they were. */
  z.object({ kind: z.literal("finalize"), approvedCoordinators: ApprovedCoordinators }),
]);
export type EpochCommand = z.infer<typeof EpochCommand>;

const sortedIds = (ids: Iterable<string>) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Each distinct record voted for and who voted for it, most signers first (then by hash).
 * Disagreement is never resolved here: every differing record stays visible with its signers,
 * final or not.
 */
export function epochTally(state: Epoch): { readonly recordHash: string; readonly record: EpochRecord; readonly signers: readonly string[] }[] {
  return state.records
    .map(({ recordHash, record }) => ({ recordHash, record, signers: sortedIds(state.votes.filter((v) => v.recordHash === recordHash).map((v) => v.coordinatorId)) }))
    .sort((a, b) => b.signers.length - a.signers.length || (a.recordHash < b.recordHash ? -1 : 1));
}

/**
 * Which events may follow which state, deciding and replaying alike. Quorum is checked when
 * deciding (the approved set is an input of the command); replay checks that a finalization
 * names only coordinators that voted for its record.
 */
export function epochRuleBreak(state: Epoch, event: EpochEvent): RuleBreak | undefined {
  if (state.final) return { code: "epoch_final", message: `the epoch is final with record ${state.final.recordHash}` };
  switch (event.type) {
    case "epoch.voted": {
      const { coordinatorId, record, recordHash } = event.data;
      if (state.votes.some((v) => v.coordinatorId === coordinatorId)) return { code: "already_voted", message: `coordinator ${coordinatorId} voted on this epoch before` };
      if (state.epochId !== undefined && record.epochId !== state.epochId) return { code: "wrong_epoch", message: `the record is of epoch ${record.epochId}, the votes are on ${state.epochId}` };
      const actual = epochRecordHash(record);
      if (actual !== recordHash) return { code: "record_hash_mismatch", message: `the record hashes to ${actual}, the vote says ${recordHash}` };
      const total = allocatedTotal(record);
      return total === record.issuedMillicredits
        ? undefined
        : { code: "unbalanced_record", message: `the allocations sum to ${total} millicredits, the record issues ${record.issuedMillicredits}` };
    }
    case "epoch.finalized": {
      const { recordHash, signers } = event.data;
      if (!state.records.some((r) => r.recordHash === recordHash)) return { code: "unknown_record", message: `no vote is for record ${recordHash}` };
      const voters = new Set(state.votes.filter((v) => v.recordHash === recordHash).map((v) => v.coordinatorId));
      return new Set(signers).size === signers.length && signers.every((s) => voters.has(s))
        ? undefined
        : { code: "signers_mismatch", message: `the signers are not distinct coordinators that voted for record ${recordHash}` };
    }
    default:
      return assertNever(event);
  }
}

export function evolveEpoch(state: Epoch, event: EpochEvent): Epoch {
  switch (event.type) {
    case "epoch.voted": {
      const { coordinatorId, record, recordHash } = event.data;
      const known = state.records.some((r) => r.recordHash === recordHash);
      return {
        ...state,
        epochId: state.epochId ?? record.epochId,
        votes: [...state.votes, { coordinatorId, recordHash }],
        records: known ? state.records : [...state.records, { recordHash, record }],
      };
    }
    case "epoch.finalized":
      return { ...state, final: { recordHash: event.data.recordHash, signers: event.data.signers } };
    default:
      return assertNever(event);
  }
}

const rules = { ruleBreak: epochRuleBreak, evolve: evolveEpoch };

/** The finalization the votes in `state` allow under this approved set, if any: a quorum of approved coordinators on one record. */
function finalization(state: Epoch, approved: ReadonlySet<string>): EpochEvent | undefined {
  const needed = quorumOf(approved.size);
  for (const { recordHash, signers } of epochTally(state)) {
    const counted = signers.filter((s) => approved.has(s));
    if (counted.length >= needed) return { type: "epoch.finalized", data: { recordHash, signers: counted } };
  }
  return undefined;
}

function refuseFinal(state: Epoch): void {
  if (state.final) throw new DomainRuleViolation("epoch_final", `the epoch is final with record ${state.final.recordHash}`);
}

/**
 * A vote from an approved coordinator that has not voted, once the epoch's hour is over. The
 * vote that brings one record to quorum finalizes the epoch in the same commit; votes for
 * other records stay in the tally.
 */
export function voteOnEpoch(command: Extract<EpochCommand, { kind: "vote" }>, state: Epoch): EpochEvent[] {
  refuseFinal(state);
  const approved = new Set(command.approvedCoordinators);
  if (!approved.has(command.coordinatorId)) throw new DomainRuleViolation("not_approved_coordinator", `coordinator ${command.coordinatorId} is not approved to vote on issuance`);
  const ends = epochEnd(command.record.epochId);
  if (command.now.getTime() < ends.getTime()) throw new DomainRuleViolation("epoch_not_over", `epoch ${command.record.epochId} runs until ${ends.toISOString()}`);
  const vote: EpochEvent = { type: "epoch.voted", data: { coordinatorId: command.coordinatorId, record: command.record, recordHash: epochRecordHash(command.record) } };
  requireRules(rules, state, [vote]);
  const final = finalization(evolveEpoch(state, vote), approved);
  return final ? requireRules(rules, state, [vote, final]) : [vote];
}

export function finalizeEpoch(command: Extract<EpochCommand, { kind: "finalize" }>, state: Epoch): EpochEvent[] {
  refuseFinal(state);
  const final = finalization(state, new Set(command.approvedCoordinators));
  if (!final) {
    const tally = epochTally(state).map((t) => `${t.recordHash.slice(0, 12)}: ${t.signers.length}`).join(", ") || "no votes";
    throw new DomainRuleViolation("no_quorum", `no record has ${quorumOf(new Set(command.approvedCoordinators).size)} approved signers (${tally})`);
  }
  return requireRules(rules, state, [final]);
}

export function decideEpoch(command: EpochCommand, state: Epoch): EpochEvent[] {
  switch (command.kind) {
    case "vote":
      return voteOnEpoch(command, state);
    case "finalize":
      return finalizeEpoch(command, state);
    default:
      return assertNever(command);
  }
}

export const epochDecider: Decider<EpochCommand, Epoch, EpochEvent> = {
  initialState: openEpoch,
  decide: decideEpoch,
  evolve: evolveEpoch,
  ruleBreak: epochRuleBreak,
};

/** ec.economy.epoch.<epochId>, the epoch id being its UTC hour (2026-12-04T17). */
export const epochSubject = (epochId: string) => subjectOf("economy", "epoch", epochId);
