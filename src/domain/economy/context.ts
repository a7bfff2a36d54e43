import type { BoundedContext } from "../context.js";
import { aggregateKind } from "../context.js";
import { epochDecider, epochSubject } from "./epoch.js";
import { epochEventSpecs } from "./epochEvents.js";
import { intentSubject, paymentIntentDecider } from "./intent.js";
import { intentEventSpecs } from "./intentEvents.js";
import { custodyPolicyDecider, policySubject } from "./policy.js";
import { policyEventSpecs } from "./policyEvents.js";
import { priceProposalDecider, priceSubject } from "./priceProposal.js";
import { priceEventSpecs } from "./priceEvents.js";

export const priceAggregate = aggregateKind({ kind: "price", decider: priceProposalDecider, events: priceEventSpecs, subject: priceSubject });
export const epochAggregate = aggregateKind({ kind: "epoch", decider: epochDecider, events: epochEventSpecs, subject: epochSubject });
export const intentAggregate = aggregateKind({ kind: "intent", decider: paymentIntentDecider, events: intentEventSpecs, subject: intentSubject });
export const policyAggregate = aggregateKind({ kind: "policy", decider: custodyPolicyDecider, events: policyEventSpecs, subject: policySubject });

/** The economy: coordinators' price proposals, issuance epochs closed by vote, Lightning top-ups and the treasury's custody policies. */
export const economyContext = {
  name: "economy",
  stream: "EC_ECONOMY",
  events: [...priceEventSpecs, ...epochEventSpecs, ...intentEventSpecs, ...policyEventSpecs],
  aggregates: [priceAggregate, epochAggregate, intentAggregate, policyAggregate],
  chained: true,
} as const satisfies BoundedContext;
