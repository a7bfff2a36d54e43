import { hash } from "node:crypto";
import { z } from "zod";
import { Millicredits } from "../credits/events.js";
import { canonicalJson } from "../events/canonical.js";
import { AggregateId } from "../events/envelope.js";
import { Hash } from "../ledger/record.js";
import { EpochId } from "./epochId.js";
import { Count } from "./units.js";

/** The load index in millionths: integers, so every coordinator's EMA gives the same digits. */
export const LOAD_INDEX_MIN_MICROS = 200_000;
export const LOAD_INDEX_MAX_MICROS = 6_000_000;
export const LoadIndexMicros = z.number().int().min(LOAD_INDEX_MIN_MICROS).max(LOAD_INDEX_MAX_MICROS);

/** Who an allocation pays, and why. */
export const AllocationRole = z.enum(["contributor", "coordinator", "reserve"]);
export type AllocationRole = z.infer<typeof AllocationRole>;

export const Allocation = z.object({ accountId: AggregateId, role: AllocationRole, millicredits: Millicredits });
export type Allocation = z.infer<typeof Allocation>;

/**
 * Each vote carries the whole record, so a commit of one must stay well inside the stream's
 * 1 MiB message limit: 4,000 allocations of the longest account ids are about 760 KiB.
 */
export const MAX_ALLOCATIONS = 4_000;

/**
 * What an epoch issues and to whom, as every coordinator computes it from the same facts
 * (issuance.ts): the inputs of the pool, the pool, the digest of the contributions it was
 * divided by, and the allocations. Coordinators vote on its hash, so two that saw different
 * facts vote for different records, and the difference shows.
 */
export const EpochRecord = z.object({
  epochId: EpochId,
  demand: Count,
  cpuAgents: Count,
  gpuAgents: Count,
  /** The smoothed load index of the epoch before, or null for the first. */
  previousLoadIndexMicros: LoadIndexMicros.nullable(),
  loadIndexMicros: LoadIndexMicros,
  dailyPoolMillicredits: z.number().int().min(0),
  hourlyPoolMillicredits: z.number().int().min(0),
  /** The hourly pool when anyone contributed, else 0: an idle hour issues nothing. */
  issuedMillicredits: z.number().int().min(0),
  /** SHA-256 of the contributions in canonical JSON, ordered by ref. */
  contributionsDigest: Hash,
  /** Ordered by role, then account: the order issuance.ts writes and the hash covers. */
  allocations: z.array(Allocation).max(MAX_ALLOCATIONS),
});
export type EpochRecord = z.infer<typeof EpochRecord>;

/** SHA-256 of the record's RFC 8785 canonical JSON: what coordinators sign by voting. */
export function epochRecordHash(record: EpochRecord): string {
  return hash("sha256", canonicalJson(record), "hex");
}

export function allocatedTotal(record: EpochRecord): number {
  let total = 0;
  for (const a of record.allocations) total += a.millicredits;
  return total;
}
