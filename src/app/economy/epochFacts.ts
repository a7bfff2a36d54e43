import { epochEnd, epochStart } from "../../domain/economy/epochId.js";
import type { Contribution, EpochInputs } from "../../domain/economy/issuance.js";
import type { ResourceClass } from "../../domain/economy/units.js";
import { earningsBetween } from "../../projections/economy/facts.js";
import type { Db } from "../../projections/keyset.js";
import { latestFinalEpoch, proposalCountsBetween } from "../../projections/economy/queries.js";

/**
 * What marks a credit earning for work: the credit flow pays a worker's owner for a result with
 * ref `lease:<leaseId>` (src/domain/credits/taskPayments.ts). Only such earnings are
 * contributions; model charges and fees, top-ups, grants and issuance itself are not.
 */
export const WORK_EARNING_REF_PREFIX = "lease:";

/** The account that holds the reserve's share of every epoch. */
export const RESERVE_ACCOUNT = "treasury-reserve";

/** The largest computeMs a contribution may carry (a day), the domain's bound. */
const MAX_CONTRIBUTION = 86_400_000;

/** The lower median of some counts: a value someone reported, and one outlier cannot move it past its neighbours. 0 for none. */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * An issuance epoch's facts, read alike by every coordinator once its projections hold the
 * hour, so that coordinators who saw the same streams compute the same record:
 * - contributions: the credits earned for work (credits.earned with a ref lease:<leaseId>, the
 *   credit flow's pay for a result) whose events are dated in the hour, each one contribution with its event id as ref and the millicredits
 *   it earned as its weight (as computeMs, CPU, quality 1, ok): an account's share of the
 *   contributors' part is its share of the hour's work earnings, which already weigh the class,
 *   the quality and the load of each piece of work.
 * - demand and agents: from the price proposals made in the hour, every coordinator's signed
 *   counts of the queue. demand is the lower median of (queued + agents) over the hour's CPU
 *   proposals plus the same over its GPU proposals; cpuAgents and gpuAgents are the lower
 *   median capacity of each class's proposals. Medians of signed numbers everyone reads, so no
 *   coordinator's own view, nor one odd count, decides them.
 * - previousLoadIndexMicros: the smoothed load index of the newest final epoch before this one.
 */
export async function epochFacts(db: Db, epochId: string): Promise<Omit<EpochInputs, "coordinatorAccounts" | "reserveAccount">> {
  const start = epochStart(epochId);
  const end = epochEnd(epochId);
  const [earnings, counts, previous] = await Promise.all([earningsBetween(db, WORK_EARNING_REF_PREFIX, start, end), proposalCountsBetween(db, start, end), latestFinalEpoch(db, epochId)]);
  const of = (c: ResourceClass) => counts.filter((p) => p.resourceClass === c);
  const contributions: Contribution[] = earnings.map((e) => ({ ref: e.eventId, accountId: e.accountId, resourceClass: "cpu", computeMs: Math.min(e.amount, MAX_CONTRIBUTION), quality: 1, ok: true }));
  return {
    epochId,
    demand: lowerMedian(of("cpu").map((p) => p.queued + p.agents)) + lowerMedian(of("gpu").map((p) => p.queued + p.agents)),
    cpuAgents: lowerMedian(of("cpu").map((p) => p.capacity)),
    gpuAgents: lowerMedian(of("gpu").map((p) => p.capacity)),
    ...(previous ? { previousLoadIndexMicros: previous.record.loadIndexMicros } : {}),
    contributions,
  };
}
