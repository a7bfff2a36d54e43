import { z } from "zod";
import { assertNever, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { subjectOf } from "../events/envelope.js";
import type { PriceEvent } from "./priceEvents.js";
import { PriceInputs, satsPerUnit } from "./pricing.js";
import type { ResourceClass } from "./units.js";

/** A coordinator's latest proposal for each resource class. */
export interface PriceProposals {
  readonly latest: Readonly<Partial<Record<ResourceClass, { readonly satsPerUnit: number; readonly at: string }>>>;
}

export const noProposals = (): PriceProposals => ({ latest: {} });

/**
 * The coordinator proposes its price for a class from the counts it sees; the price is computed
 * here, not given, so a proposal is always the formula's price of its counts.
 */
export const PriceCommand = z.discriminatedUnion("kind", [z.object({ kind: z.literal("propose"), ...PriceInputs.shape, now: z.date() })]);
export type PriceCommand = z.infer<typeof PriceCommand>;

/**
 * A proposal must be newer than the coordinator's last one for its class (a replayed or
 * reordered proposal cannot take the place of a later one), and its price must be the formula's
 * for its counts. Which key may propose for the coordinator is the app's check: the aggregate's
 * id (the subject's last token) is the coordinator's public key, and the envelope's signer must
 * be that key; the decider sees neither.
 */
export function priceRuleBreak(state: PriceProposals, event: PriceEvent): RuleBreak | undefined {
  switch (event.type) {
    case "price.proposed": {
      const { resourceClass, at } = event.data;
      const expected = satsPerUnit(event.data);
      if (event.data.satsPerUnit !== expected) {
        return { code: "price_mismatch", message: `the counts give ${expected} sats per ${resourceClass} unit, the proposal says ${event.data.satsPerUnit}` };
      }
      const last = state.latest[resourceClass];
      return last && Date.parse(at) <= Date.parse(last.at)
        ? { code: "not_newer", message: `a ${resourceClass} proposal at ${at} is not newer than the last one, at ${last.at}` }
        : undefined;
    }
    default:
      return assertNever(event.type);
  }
}

export function evolvePriceProposals(state: PriceProposals, event: PriceEvent): PriceProposals {
  switch (event.type) {
    case "price.proposed":
      return { latest: { ...state.latest, [event.data.resourceClass]: { satsPerUnit: event.data.satsPerUnit, at: event.data.at } } };
    default:
      return assertNever(event.type);
  }
}

const rules = { ruleBreak: priceRuleBreak, evolve: evolvePriceProposals };

export function proposePrice({ kind: _k, now, ...inputs }: Extract<PriceCommand, { kind: "propose" }>, state: PriceProposals): PriceEvent[] {
  return requireRules(rules, state, [{ type: "price.proposed", data: { ...inputs, satsPerUnit: satsPerUnit(inputs), at: now.toISOString() } }]);
}

export function decidePrice(command: PriceCommand, state: PriceProposals): PriceEvent[] {
  switch (command.kind) {
    case "propose":
      return proposePrice(command, state);
    default:
      return assertNever(command.kind);
  }
}

export const priceProposalDecider: Decider<PriceCommand, PriceProposals, PriceEvent> = {
  initialState: noProposals,
  decide: decidePrice,
  evolve: evolvePriceProposals,
  ruleBreak: priceRuleBreak,
};

/** ec.economy.price.<coordinatorId>: one coordinator's proposals, both classes. */
export const priceSubject = (coordinatorId: string) => subjectOf("economy", "price", coordinatorId);
