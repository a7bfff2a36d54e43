import { DomainRuleViolation } from "../../domain/decider.js";
import { priceSubject } from "../../domain/economy/priceProposal.js";
import { networkPrice, PROPOSAL_STALE_AFTER_MS, satsPerUnit, type CurrentProposal, type PriceInputs } from "../../domain/economy/pricing.js";
import type { ResourceClass } from "../../domain/economy/units.js";
import type { CursorKey, Page } from "../../projections/keyset.js";
import { latestProposalsOf, latestProposalsSince, proposalHistory, type PriceProposal } from "../../projections/economy/queries.js";
import type { EconomyDeps } from "./deps.js";
import { priceInputsNow } from "./priceInputs.js";

const CLASSES: readonly ResourceClass[] = ["cpu", "gpu"];

/**
 * Every coordinator's proposal weighs the same: the domain weighs by reputation (clamped to
 * 1-500), and no coordinator reputation exists yet, so each counts as a newcomer's 1.
 */
export const PROPOSAL_REPUTATION = 1;
export const WEIGHTING = "each coordinator's latest proposal weighs 1: no coordinator reputation exists yet";

export interface ClassPrice {
  readonly resourceClass: ResourceClass;
  readonly satsPerUnit: number;
  /** The coordinators whose current proposals counted, in order of their price. */
  readonly counted: readonly string[];
}

export interface CurrentPrices {
  readonly at: Date;
  /** Per class: the weighted median of the current proposals, or null when none is current. */
  readonly network: Readonly<Record<ResourceClass, ClassPrice | null>>;
  /** Sats a credit bought now costs (conversion.ts): the CPU network price, else this node's own. */
  readonly satsPerCredit: { readonly value: number; readonly from: "network" | "own" };
  /** This node's latest proposals, however old. */
  readonly own: readonly PriceProposal[];
}

/** Proposing this node's price, and reading the network's (the weighted median of current proposals). */
export function prices(deps: EconomyDeps) {
  const subject = priceSubject(deps.nodeKey);

  async function networkPrices(now: Date): Promise<Record<ResourceClass, ClassPrice | null>> {
    const rows = await latestProposalsSince(deps.pool, new Date(now.getTime() - PROPOSAL_STALE_AFTER_MS));
    const current: CurrentProposal[] = rows.map((r) => ({
      coordinatorId: r.coordinatorId,
      resourceClass: r.resourceClass,
      satsPerUnit: r.satsPerUnit,
      at: r.proposedAt.toISOString(),
      reputation: PROPOSAL_REPUTATION,
    }));
    return Object.fromEntries(CLASSES.map((c) => [c, networkPrice(c, current, now) ?? null])) as Record<ResourceClass, ClassPrice | null>;
  }

  return {
    /**
     * Proposes this node's price for each class from what it sees now, signed by the node (the
     * subject is its key). A proposal not newer than the last (two in one millisecond) is skipped.
     */
    async propose(): Promise<{ resourceClass: ResourceClass; satsPerUnit: number; inputs: PriceInputs }[]> {
      const now = deps.now();
      const inputs = await priceInputsNow(deps);
      const proposed = [];
      for (const resourceClass of CLASSES) {
        try {
          await deps.handlers.price(subject, { kind: "propose", ...inputs[resourceClass], now }, { now });
          proposed.push({ resourceClass, satsPerUnit: satsPerUnit(inputs[resourceClass]), inputs: inputs[resourceClass] });
        } catch (err) {
          if (!(err instanceof DomainRuleViolation && err.code === "not_newer")) throw err;
        }
      }
      return proposed;
    },

    async current(): Promise<CurrentPrices> {
      const now = deps.now();
      const [network, own] = await Promise.all([networkPrices(now), latestProposalsOf(deps.pool, deps.nodeKey)]);
      const cpu = network.cpu;
      const satsPerCredit = cpu ? { value: cpu.satsPerUnit, from: "network" as const } : { value: satsPerUnit((await priceInputsNow(deps)).cpu), from: "own" as const };
      return { at: now, network, satsPerCredit, own };
    },

    /** What a credit costs in sats now: the CPU network price, or this node's own when no proposal is current (conversion.ts). */
    async satsPerCredit(): Promise<number> {
      const cpu = (await networkPrices(deps.now())).cpu;
      return cpu ? cpu.satsPerUnit : satsPerUnit((await priceInputsNow(deps)).cpu);
    },

    proposals: (opts: { resourceClass?: ResourceClass | undefined; coordinatorId?: string | undefined; before?: CursorKey | undefined; limit: number }): Promise<Page<PriceProposal>> =>
      proposalHistory(deps.pool, opts),
  };
}

export type Prices = ReturnType<typeof prices>;
