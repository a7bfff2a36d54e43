import { hash } from "node:crypto";
import { z } from "zod";
import { DomainRuleViolation } from "../decider.js";
import { canonicalJson } from "../events/canonical.js";
import { AggregateId } from "../events/envelope.js";
import { EpochId } from "./epochId.js";
import { LOAD_INDEX_MAX_MICROS, LOAD_INDEX_MIN_MICROS, LoadIndexMicros, MAX_ALLOCATIONS, type Allocation, type AllocationRole, type EpochRecord } from "./epochRecord.js";
import { largestRemainder } from "./largestRemainder.js";
import { Count, ResourceClass } from "./units.js";

const MICROS = 1_000_000;

/** REFERENCE's pool: 10,000 credits a day at or below full load, in millicredits, within 2,500–100,000. */
export const BASE_DAILY_POOL_MILLICREDITS = 10_000_000;
export const MIN_DAILY_POOL_MILLICREDITS = 2_500_000;
export const MAX_DAILY_POOL_MILLICREDITS = 100_000_000;
/** The pool grows by 35% of base for each unit of load index above 1. */
export const LOAD_SLOPE_PERCENT = 35;
/** The EMA's α: the new epoch's raw index counts 35%, the history 65%. */
export const LOAD_EMA_ALPHA_PERCENT = 35;
/** Shares of the issued pool, in percent; contributors get the rest. */
export const COORDINATOR_SHARE_PERCENT = 5;
export const RESERVE_SHARE_PERCENT = 5;

/**
 * How loaded the mesh was: demand over supply, a GPU agent counted as two, clamped to 0.2–6.
 * No supply at all is the top of the range when anything was asked, the bottom when nothing was.
 */
export function rawLoadIndexMicros(demand: number, cpuAgents: number, gpuAgents: number): number {
  const supply = cpuAgents + 2 * gpuAgents;
  if (supply === 0) return demand > 0 ? LOAD_INDEX_MAX_MICROS : LOAD_INDEX_MIN_MICROS;
  return Math.min(LOAD_INDEX_MAX_MICROS, Math.max(LOAD_INDEX_MIN_MICROS, Math.floor((demand * MICROS) / supply)));
}

/** The EMA with α = 0.35, rounded half up; the first epoch (no history) takes its raw index. */
export function smoothedLoadIndexMicros(raw: number, previous: number | null): number {
  if (previous === null) return raw;
  return Math.floor((LOAD_EMA_ALPHA_PERCENT * raw + (100 - LOAD_EMA_ALPHA_PERCENT) * previous + 50) / 100);
}

/**
 * base × (1 + max(0, loadIndex − 1) × 0.35), clamped to 2,500–100,000 credits. With the index
 * capped at 6 the pool spans 10,000–27,500 credits a day, so the clamp never binds with these
 * numbers; it is kept as REFERENCE writes it, a guard should the curve's numbers change.
 */
export function dailyPoolMillicredits(loadIndexMicros: number): number {
  const above = Math.max(0, loadIndexMicros - MICROS);
  const pool = BASE_DAILY_POOL_MILLICREDITS + Math.floor((BASE_DAILY_POOL_MILLICREDITS * LOAD_SLOPE_PERCENT * above) / (100 * MICROS));
  return Math.min(MAX_DAILY_POOL_MILLICREDITS, Math.max(MIN_DAILY_POOL_MILLICREDITS, pool));
}

/** A day's pool over 24 hours, rounded down: at most 23 millicredits a day go unissued, none are made up. */
export function hourlyPoolMillicredits(daily: number): number {
  return Math.floor(daily / 24);
}

/** One piece of work that counts toward an epoch: a subtask run, named by the event that recorded it. */
export const Contribution = z.object({
  /** The event (or lease) that recorded the work: each is counted once. */
  ref: z.string().min(1).max(200),
  accountId: AggregateId,
  resourceClass: ResourceClass,
  computeMs: z.number().int().min(0).max(86_400_000),
  /** The quality multiplier (REFERENCE: 1.0 on success, 0.6 on failure); clamped to 0.5–1.5 here. */
  quality: z.number().min(0).max(1_000),
  /** Whether the work succeeded: reliability 1 if so, 0.75 if not. */
  ok: z.boolean(),
});
export type Contribution = z.infer<typeof Contribution>;

const CLASS_WEIGHT: Readonly<Record<ResourceClass, bigint>> = { cpu: 1n, gpu: 2n };

/**
 * seconds × (GPU 2 : CPU 1) × quality × reliability, in exact integers: milliseconds, quality
 * and reliability in thousandths (the quality rounded to the nearest thousandth once, here).
 */
export function weightedContribution(c: Contribution): bigint {
  const qualityMilli = Math.round(Math.min(1.5, Math.max(0.5, c.quality)) * 1000);
  const reliabilityMilli = c.ok ? 1000n : 750n;
  return BigInt(c.computeMs) * CLASS_WEIGHT[c.resourceClass] * BigInt(qualityMilli) * reliabilityMilli;
}

export const EpochInputs = z.object({
  epochId: EpochId,
  /** Work asked of the mesh in the epoch (subtasks queued), and the agents there were to do it. */
  demand: Count,
  cpuAgents: Count,
  gpuAgents: Count,
  /** The last final epoch's smoothed index; absent for the first epoch. */
  previousLoadIndexMicros: LoadIndexMicros.optional(),
  contributions: z.array(Contribution).max(1_000_000),
  /** The approved coordinators' accounts: the coordinator share is split evenly among them. */
  coordinatorAccounts: z.array(AggregateId).min(1).max(100),
  reserveAccount: AggregateId,
});
export type EpochInputs = z.infer<typeof EpochInputs>;

const byRef = (a: Contribution, b: Contribution) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);

/** SHA-256 of the contributions' canonical JSON in order of ref: the same facts give the same digest whatever order they were read in. */
export function contributionsDigest(contributions: readonly Contribution[]): string {
  return hash("sha256", canonicalJson([...contributions].sort(byRef)), "hex");
}

const ROLE_ORDER: Readonly<Record<AllocationRole, number>> = { contributor: 0, coordinator: 1, reserve: 2 };

function allocations(role: AllocationRole, parts: readonly { id: string; amount: bigint }[]): Allocation[] {
  return parts.filter((p) => p.amount > 0n).map((p) => ({ accountId: p.id, role, millicredits: Number(p.amount) }));
}

/**
 * The epoch's record from its facts: the load index and its EMA, the pools, and the allocations.
 * The issued amount is split first (coordinators 5% and reserve 5%, each rounded down, so any
 * rounding favours contributors), then each part by the largest-remainder rule, so the
 * allocations sum exactly to what is issued. Contributors share in proportion to their summed
 * weighted contributions; coordinators evenly. An allocation that rounds to 0 is left out
 * (a credit movement is never of 0). A ref seen twice is refused: work is counted once.
 */
export function computeEpochRecord(inputs: EpochInputs): EpochRecord {
  const refs = new Set<string>();
  const weights = new Map<string, bigint>();
  for (const c of inputs.contributions) {
    if (refs.has(c.ref)) throw new DomainRuleViolation("duplicate_contribution", `contribution ${c.ref} is listed twice`);
    refs.add(c.ref);
    weights.set(c.accountId, (weights.get(c.accountId) ?? 0n) + weightedContribution(c));
  }
  const previous = inputs.previousLoadIndexMicros ?? null;
  const loadIndexMicros = smoothedLoadIndexMicros(rawLoadIndexMicros(inputs.demand, inputs.cpuAgents, inputs.gpuAgents), previous);
  const daily = dailyPoolMillicredits(loadIndexMicros);
  const hourly = hourlyPoolMillicredits(daily);
  const contributors = [...weights].filter(([, w]) => w > 0n).map(([id, weight]) => ({ id, weight }));
  const issued = contributors.length > 0 ? hourly : 0;

  const coordinatorTotal = Math.floor((issued * COORDINATOR_SHARE_PERCENT) / 100);
  const reserveTotal = Math.floor((issued * RESERVE_SHARE_PERCENT) / 100);
  const contributorTotal = issued - coordinatorTotal - reserveTotal;
  const coordinators = [...new Set(inputs.coordinatorAccounts)].map((id) => ({ id, weight: 1n }));
  const all = [
    ...allocations("contributor", contributors.length > 0 ? largestRemainder(BigInt(contributorTotal), contributors) : []),
    ...allocations("coordinator", largestRemainder(BigInt(coordinatorTotal), coordinators)),
    ...allocations("reserve", [{ id: inputs.reserveAccount, amount: BigInt(reserveTotal) }]),
  ].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  if (all.length > MAX_ALLOCATIONS) {
    throw new DomainRuleViolation("too_many_allocations", `${all.length} allocations exceed the ${MAX_ALLOCATIONS} one record can carry`);
  }
  return {
    epochId: inputs.epochId,
    demand: inputs.demand,
    cpuAgents: inputs.cpuAgents,
    gpuAgents: inputs.gpuAgents,
    previousLoadIndexMicros: previous,
    loadIndexMicros,
    dailyPoolMillicredits: daily,
    hourlyPoolMillicredits: hourly,
    issuedMillicredits: issued,
    contributionsDigest: contributionsDigest(inputs.contributions),
    allocations: all,
  };
}
