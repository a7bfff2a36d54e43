import { z } from "zod";
import { PublicKey } from "../events/envelope.js";

/** The two kinds of compute the mesh prices and rewards separately. */
export const ResourceClass = z.enum(["cpu", "gpu"]);
export type ResourceClass = z.infer<typeof ResourceClass>;

/**
 * A coordinator is known by its Ed25519 signing key (43 base64url chars, which also fit an
 * aggregate id): a vote or a price proposal names the key that must have signed its envelope,
 * so the app's check is one string comparison with `signer`.
 */
export const CoordinatorId = PublicKey;
export type CoordinatorId = z.infer<typeof CoordinatorId>;

/** The largest Lightning payment intent (1 BTC): the and REFERENCE's bound. */
export const MAX_INTENT_SATS = 100_000_000;
export const Sats = z.number().int().min(1).max(MAX_INTENT_SATS);

/** An instant as the events carry it: UTC ISO 8601 with no offset, as the envelope's `time`. */
export const Instant = z.iso.datetime({ offset: false });

/** A count the economy's formulas read (queued work, agents, capacity): bounded so products stay exact. */
export const Count = z.number().int().min(0).max(1_000_000_000);
