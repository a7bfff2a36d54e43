import { economyContext } from "../../domain/economy/context.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { foldedRowsProjector, type FoldedKind } from "../foldedRows.js";
import { epochKind } from "./epochRows.js";
import { intentKind } from "./intentRows.js";
import { policyKind } from "./policyRows.js";
import { priceKind } from "./priceRows.js";

/**
 * The economy as read models: coordinators' price proposals (latest and history), issuance
 * epochs (votes, the tally of records, the final record's allocations), Lightning payment
 * intents and custody policies (versions, the one in force). Each aggregate is folded with its
 * decider, so a validly signed but impossible event (a second settlement, a vote after the
 * epoch is final) is quarantined, never shown.
 */
export const economyProjector = foldedRowsProjector({
  name: "economy",
  version: 1,
  streams: [economyContext.stream],
  registry: eventRegistry(...economyContext.events),
  kinds: [priceKind, epochKind, intentKind, policyKind] as FoldedKind<unknown>[],
});
