import type { EconomyDeps } from "./deps.js";
import { issuance } from "./issuance.js";
import { payments } from "./payments.js";
import { prices } from "./prices.js";
import { treasury } from "./treasury.js";

/** The economy's use cases on one node: prices, Lightning payments, issuance votes and the treasury's policies. */
export function economy(deps: EconomyDeps) {
  const pricing = prices(deps);
  const custody = treasury(deps);
  return {
    /** The coordinator this node speaks for. */
    nodeKey: deps.nodeKey,
    prices: pricing,
    payments: payments(deps, pricing),
    issuance: issuance(deps, custody),
    treasury: custody,
    /** What the node's Lightning provider is, for every reply about an intent: the mock is development only. */
    lightning: { kind: deps.lightning.kind, development: deps.lightning.development, label: deps.lightning.label },
  };
}

export type Economy = ReturnType<typeof economy>;
