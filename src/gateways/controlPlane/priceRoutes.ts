import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Economy } from "../../app/economy/economy.js";
import { WEIGHTING } from "../../app/economy/prices.js";
import { PROPOSAL_STALE_AFTER_MS } from "../../domain/economy/pricing.js";
import { CoordinatorId, ResourceClass } from "../../domain/economy/units.js";
import type { PriceProposal } from "../../projections/economy/queries.js";
import { Cursor, encodeNext, Micros, PageLimit } from "../paging.js";
import { CurrentPriceReply, PriceProposalReply } from "../../schemas/economyApi.js";
import { ADMIN_ERRORS, iso } from "./economyReplies.js";

const Proposal = PriceProposalReply;
const proposal = (p: PriceProposal): z.infer<typeof Proposal> => ({ ...p, proposedAt: iso(p.proposedAt) });

const ProposalsQuery = z.object({
  resourceClass: ResourceClass.optional(),
  coordinatorId: CoordinatorId.optional(),
  limit: PageLimit(50, 500),
  /** The `next` of the previous page. */
  before: Cursor(Micros, z.uuid()).optional(),
});

/** Prices on the control plane: the network's (the weighted median of current proposals), and every proposal, newest first. */
export const priceRoutes: FastifyPluginAsyncZod<{ economy: Economy }> = async (app, { economy }) => {
  app.get("/economy/price/current", { schema: { summary: "The network price per resource class and this node's own proposal", response: { 200: CurrentPriceReply, ...ADMIN_ERRORS } } }, async () => {
    const c = await economy.prices.current();
    const classPrice = (p: (typeof c.network)["cpu"]) => p && { satsPerUnit: p.satsPerUnit, counted: [...p.counted] };
    return {
      at: iso(c.at),
      unit: "sats per compute unit" as const,
      network: { cpu: classPrice(c.network.cpu), gpu: classPrice(c.network.gpu) },
      weighting: WEIGHTING,
      staleAfterMs: PROPOSAL_STALE_AFTER_MS,
      satsPerCredit: c.satsPerCredit,
      node: { coordinatorId: economy.nodeKey, proposals: c.own.map(proposal) },
    };
  });

  app.get(
    "/economy/price/proposals",
    { schema: { summary: "Every price proposal, newest first", querystring: ProposalsQuery, response: { 200: z.object({ proposals: z.array(Proposal), next: z.string().nullable() }), ...ADMIN_ERRORS } } },
    async (req) => {
      const page = await economy.prices.proposals(req.query);
      return { proposals: page.items.map(proposal), next: encodeNext(page) };
    },
  );
};
