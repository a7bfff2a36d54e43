import { z } from "zod";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";
import { PriceInputs } from "./pricing.js";
import { Instant } from "./units.js";

/**
 * A coordinator's price for one resource class, with the counts it was computed from, so anyone
 * can recompute it (satsPerUnit of the counts) and see what the coordinator saw.
 */
export const priceProposed = eventSpec(
  "price.proposed",
  1,
  PriceInputs.extend({ satsPerUnit: z.number().int().min(1), at: Instant }),
);

export const priceEventSpecs = [priceProposed] as const;
export const priceEvents = eventRegistry(...priceEventSpecs);
export type PriceEvent = DraftOf<(typeof priceEventSpecs)[number]>;
