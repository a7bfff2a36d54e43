import { z } from "zod";
import { CoordinatorId, Count, Instant, ResourceClass } from "./units.js";

/** Sats per compute unit at balance (demand = capacity): REFERENCE's bases. A GPU unit is worth four CPU units, as it earns (4.0/s against 1.0/s). */
export const BASE_SATS_PER_UNIT: Readonly<Record<ResourceClass, number>> = { cpu: 30, gpu: 120 };

/** The bounds of the scarcity factor, in percent (0.35 and 4.0). */
export const SCARCITY_FACTOR_MIN_PERCENT = 35;
export const SCARCITY_FACTOR_MAX_PERCENT = 400;

export const PriceInputs = z.object({
  resourceClass: ResourceClass,
  /** Work waiting for an agent of the class. */
  queued: Count,
  /** Agents of the class at work or asking for it. */
  agents: Count,
  /** What the class can run at once; 0 when nothing can. */
  capacity: Count,
});
export type PriceInputs = z.infer<typeof PriceInputs>;

/**
 * A coordinator's price for one compute unit, in whole sats:
 *   base × clamp(0.65 + 0.35 × scarcity, 0.35, 4.0), at least 1,
 *   scarcity = max(1, queued + agents) / capacity.
 *
 * The issue states the factor as "demand/capacity clamped to 0.35–4.0", REFERENCE as the
 * formula above; this is REFERENCE's, since it is the more precise of the two and they agree
 * where it matters: the factor is 1 at balance (demand = capacity), grows with demand and is
 * clamped to the same range. REFERENCE's factor follows 35% of the imbalance rather than all of
 * it, so one busy minute does not triple the price: it reaches the 4.0 ceiling at about 9.6×
 * capacity (the raw ratio would at 4×), and as capacity outgrows demand it falls toward 0.65,
 * so the 0.35 floor never binds (an idle mesh still charges 65% of base, not 35%).
 * No capacity at all is the ceiling: demand with nothing to serve it is as scarce as it gets.
 *
 * Exact integer arithmetic (the factor as (65·capacity + 35·demand) / (100·capacity), rounded
 * half up), so every coordinator computes the same price from the same counts and a stored
 * proposal can be checked against its inputs.
 */
export function satsPerUnit({ resourceClass, queued, agents, capacity }: PriceInputs): number {
  const base = BASE_SATS_PER_UNIT[resourceClass];
  if (capacity === 0) return Math.max(1, (base * SCARCITY_FACTOR_MAX_PERCENT) / 100);
  const demand = Math.max(1, queued + agents);
  // The factor in percent is (65·capacity + 35·demand) / capacity; both sides are scaled by capacity.
  const factor = Math.min(Math.max(65 * capacity + 35 * demand, SCARCITY_FACTOR_MIN_PERCENT * capacity), SCARCITY_FACTOR_MAX_PERCENT * capacity);
  const denominator = 100 * capacity;
  return Math.max(1, Math.floor((2 * base * factor + denominator) / (2 * denominator)));
}

/** How often a coordinator proposes its price. */
export const PRICE_PROPOSAL_INTERVAL_MS = 60_000;
/** A proposal older than three intervals no longer counts: its coordinator missed two in a row, or is gone. */
export const PROPOSAL_STALE_AFTER_MS = 3 * PRICE_PROPOSAL_INTERVAL_MS;
/**
 * A proposal dated further ahead than one interval does not count either: it would otherwise
 * stay "current" for as long as its coordinator's clock is wrong.
 */
export const PROPOSAL_MAX_AHEAD_MS = PRICE_PROPOSAL_INTERVAL_MS;

/** Bounds of a coordinator's weight in the median: REFERENCE's reputation clamp. */
export const MIN_PROPOSAL_WEIGHT = 1;
export const MAX_PROPOSAL_WEIGHT = 500;

export const CurrentProposal = z.object({
  coordinatorId: CoordinatorId,
  resourceClass: ResourceClass,
  satsPerUnit: z.number().int().min(1),
  at: Instant,
  /** The coordinator's reputation as the caller knows it; only its clamp to 1–500 is used. */
  reputation: z.number(),
});
export type CurrentProposal = z.infer<typeof CurrentProposal>;

/** A reputation as a weight: clamped to 1–500, so no coordinator is silenced and none outweighs 500 newcomers; anything not a finite number weighs 1. */
export function proposalWeight(reputation: number): number {
  return Number.isFinite(reputation) ? Math.min(MAX_PROPOSAL_WEIGHT, Math.max(MIN_PROPOSAL_WEIGHT, reputation)) : MIN_PROPOSAL_WEIGHT;
}

export interface NetworkPrice {
  readonly resourceClass: ResourceClass;
  readonly satsPerUnit: number;
  /** The coordinators whose proposals counted, in order of their price. */
  readonly counted: readonly CoordinatorId[];
}

interface Weighted {
  readonly key: string;
  readonly value: number;
  readonly weight: number;
}

/**
 * The lower weighted median: the smallest value at which the weight of the values up to it
 * reaches half the total. When the weight splits exactly in half between two values (a tie),
 * the lower one is the median: the result is always a value someone proposed, a whole number
 * with nothing to round, and in a tie it errs toward the payer. Items are ordered by value, then
 * key, before anything is summed, so the input's order cannot change the result (floating sums
 * depend on their order).
 */
export function lowerWeightedMedian(items: readonly Weighted[]): number | undefined {
  const sorted = [...items].sort((a, b) => a.value - b.value || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let total = 0;
  for (const i of sorted) total += i.weight;
  let running = 0;
  for (const i of sorted) {
    running += i.weight;
    if (2 * running >= total) return i.value;
  }
  return undefined;
}

/**
 * The network price of a resource class: the weighted median (above) of the current proposals,
 * each coordinator's latest one only, weighted by its clamped reputation. Proposals older than
 * `staleAfterMs` or dated more than PROPOSAL_MAX_AHEAD_MS ahead of `now` are ignored. Undefined
 * when no proposal is current: the caller then uses its own price (satsPerUnit), never an old one.
 */
export function networkPrice(
  resourceClass: ResourceClass,
  proposals: readonly CurrentProposal[],
  now: Date,
  staleAfterMs: number = PROPOSAL_STALE_AFTER_MS,
): NetworkPrice | undefined {
  const t = now.getTime();
  const latest = new Map<string, CurrentProposal>();
  for (const p of proposals) {
    if (p.resourceClass !== resourceClass) continue;
    const at = Date.parse(p.at);
    if (!(at >= t - staleAfterMs && at <= t + PROPOSAL_MAX_AHEAD_MS)) continue;
    const kept = latest.get(p.coordinatorId);
    // Two proposals of one coordinator at one instant cannot both be stored (the decider refuses
    // the second); if a caller passes both anyway, the lower price counts, whatever the order.
    if (!kept || at > Date.parse(kept.at) || (at === Date.parse(kept.at) && p.satsPerUnit < kept.satsPerUnit)) latest.set(p.coordinatorId, p);
  }
  const items = [...latest.values()].map((p) => ({ key: p.coordinatorId, value: p.satsPerUnit, weight: proposalWeight(p.reputation) }));
  const median = lowerWeightedMedian(items);
  if (median === undefined) return undefined;
  const counted = items.sort((a, b) => a.value - b.value || (a.key < b.key ? -1 : 1)).map((i) => i.key);
  return { resourceClass, satsPerUnit: median, counted };
}
