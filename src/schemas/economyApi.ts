import { z } from "zod";
import { ResourceClass } from "../domain/economy/units.js";

/**
 * The control plane's price replies (GET /economy/price/...), the contract `edgecoder price`
 * reads them by.
 */

/** One price proposal, as the projection holds it. */
export const PriceProposalReply = z.object({
  eventId: z.string(),
  coordinatorId: z.string(),
  resourceClass: ResourceClass,
  satsPerUnit: z.number().int(),
  queued: z.number().int(),
  /** Subtasks of the class under a lease when it was made. */
  agents: z.number().int(),
  capacity: z.number().int(),
  proposedAt: z.string(),
  seq: z.number().int(),
});
export type PriceProposalReply = z.infer<typeof PriceProposalReply>;

const ClassPrice = z.object({ satsPerUnit: z.number().int(), counted: z.array(z.string()) }).nullable();

export const CurrentPriceReply = z.object({
  at: z.string(),
  unit: z.literal("sats per compute unit"),
  /** The weighted median of the current proposals per class; null when none is current. */
  network: z.object({ cpu: ClassPrice, gpu: ClassPrice }),
  weighting: z.string(),
  /** A proposal older than this no longer counts. */
  staleAfterMs: z.number().int(),
  /** What one credit bought now costs: the CPU network price, or this node's own when none is current. */
  satsPerCredit: z.object({ value: z.number().int(), from: z.enum(["network", "own"]) }),
  /** This node's latest proposals, however old. */
  node: z.object({ coordinatorId: z.string(), proposals: z.array(PriceProposalReply) }),
});
export type CurrentPriceReply = z.infer<typeof CurrentPriceReply>;
