import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { Economy } from "../../app/economy/economy.js";
import { issuanceRoutes } from "./issuanceRoutes.js";
import { paymentRoutes } from "./paymentRoutes.js";
import { priceRoutes } from "./priceRoutes.js";
import { treasuryRoutes } from "./treasuryRoutes.js";

export interface EconomyRoutesDeps {
  /** The economy's use cases on this node (src/app/economy). */
  readonly economy: Economy;
}

/** The economy on the control plane: /economy/price, /economy/payments, /economy/issuance, /economy/treasury. */
export const economyRoutes: FastifyPluginAsyncZod<EconomyRoutesDeps> = async (app, deps) => {
  await app.register(priceRoutes, deps);
  await app.register(paymentRoutes, deps);
  await app.register(issuanceRoutes, deps);
  await app.register(treasuryRoutes, deps);
};
