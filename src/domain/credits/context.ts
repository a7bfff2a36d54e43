import type { BoundedContext } from "../context.js";
import { aggregateKind } from "../context.js";
import { creditAccountDecider, creditSubject } from "./commands.js";
import { creditEventSpecs } from "./events.js";

export const accountAggregate = aggregateKind({ kind: "account", decider: creditAccountDecider, events: creditEventSpecs, subject: creditSubject });

/** Credit accounts: earned, spent, held and released. */
export const creditsContext = {
  name: "credits",
  stream: "EC_CREDITS",
  events: creditEventSpecs,
  aggregates: [accountAggregate],
  chained: true,
} as const satisfies BoundedContext;
