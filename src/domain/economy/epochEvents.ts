import { z } from "zod";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";
import { Hash } from "../ledger/record.js";
import { EpochRecord } from "./epochRecord.js";
import { CoordinatorId } from "./units.js";

/** The most coordinators an epoch counts: the approved set is a custody policy's. */
export const MAX_COORDINATORS = 100;

/**
 * A coordinator's vote: the record it computed and that record's hash (epochRecordHash), which
 * is what signing the vote's envelope commits it to.
 */
export const epochVoted = eventSpec("epoch.voted", 1, z.object({ coordinatorId: CoordinatorId, record: EpochRecord, recordHash: Hash }));
/** A quorum of approved coordinators voted for one record: that record is the epoch's. */
export const epochFinalized = eventSpec(
  "epoch.finalized",
  1,
  z.object({ recordHash: Hash, signers: z.array(CoordinatorId).min(1).max(MAX_COORDINATORS) }),
);

export const epochEventSpecs = [epochVoted, epochFinalized] as const;
export const epochEvents = eventRegistry(...epochEventSpecs);
export type EpochEvent = DraftOf<(typeof epochEventSpecs)[number]>;
