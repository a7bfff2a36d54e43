import { z } from "zod";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";

/**
 * Amounts are integer millicredits (1 credit = 1000): the economy's multipliers produce
 * fractions, and integers keep every balance exact through any number of events.
 */
export const Millicredits = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const HoldId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "1-128 chars of [A-Za-z0-9_.:-]");
const Reason = z.string().min(1).max(200);
const Ref = z.string().min(1).max(200);

/**
 * The event that made a movement happen (the subtask result a worker is paid for, the task whose
 * end settles its hold): the ledger holds both, so an auditor can prove why a balance moved.
 */
export const MovementCause = z.object({ subject: z.string().min(1).max(300), eventId: z.uuid() });
export type MovementCause = z.infer<typeof MovementCause>;

/** How a work earning was computed (workPricing.ts), kept with it so the amount can be checked. */
export const EarningBasis = z.object({
  computeMs: z.number().int().min(0),
  baseRate: z.number().positive(),
  quality: z.number().positive(),
  load: z.number().positive(),
});

export const creditsEarned = eventSpec(
  "credits.earned",
  1,
  z.object({ amount: Millicredits, reason: Reason, ref: Ref.optional(), cause: MovementCause.optional(), basis: EarningBasis.optional() }),
);
/** A spend may capture part or all of a hold; what the hold kept beyond the spend returns to the balance. */
export const creditsSpent = eventSpec(
  "credits.spent",
  1,
  z.object({ amount: Millicredits, reason: Reason, ref: Ref.optional(), holdId: HoldId.optional(), cause: MovementCause.optional() }),
);
export const creditsHeld = eventSpec("credits.held", 1, z.object({ holdId: HoldId, amount: Millicredits, reason: Reason, cause: MovementCause.optional() }));
export const creditsReleased = eventSpec("credits.released", 1, z.object({ holdId: HoldId, amount: Millicredits, cause: MovementCause.optional() }));
export const creditsAdjusted = eventSpec(
  "credits.adjusted",
  1,
  z.object({
    delta: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).refine((d) => d !== 0, "delta must not be 0"),
    reason: Reason,
  }),
);

export const creditEventSpecs = [creditsEarned, creditsSpent, creditsHeld, creditsReleased, creditsAdjusted] as const;
export const creditEvents = eventRegistry(...creditEventSpecs);

export type CreditEvent = DraftOf<(typeof creditEventSpecs)[number]>;
