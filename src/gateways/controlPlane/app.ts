import type { FastifyInstance } from "fastify";
import { requireAllowedAddress } from "../adminAllowlist.js";
import { requireAdminToken } from "../adminAuth.js";
import { gatewayApp, observabilityOf, type GatewayObservability } from "../gatewayApp.js";
import { healthRoutes, type HealthRoutesDeps } from "../healthRoutes.js";
import type { LogLine } from "../gatewayLog.js";
import { agentAdminRoutes, type AgentAdminDeps } from "./agentAdminRoutes.js";
import { creditRoutes, type CreditRoutesDeps } from "./creditRoutes.js";
import { economyRoutes, type EconomyRoutesDeps } from "./economyRoutes.js";
import { statusRoutes, type StatusRoutesDeps } from "./statusRoutes.js";

export interface ControlPlaneDeps extends HealthRoutesDeps, CreditRoutesDeps, Partial<Pick<AgentAdminDeps, "handleAgent" | "handleSubtask" | "agentCacheMs">>, Partial<StatusRoutesDeps>, Partial<EconomyRoutesDeps>, GatewayObservability {
  readonly adminToken: string;
  /** EC_ADMIN_ALLOWLIST: addresses and CIDR ranges the operator's routes answer; none or empty: any. */
  readonly adminAllowlist?: string | undefined;
  /** The node's log, for what went wrong (every 5xx); none: nothing is logged. */
  readonly log?: LogLine;
}

/** The control plane (port 4303): operator routes, all behind the admin token. */
export async function buildControlPlane(deps: ControlPlaneDeps): Promise<FastifyInstance> {
  const app = await gatewayApp({ service: "control plane", bodyLimit: 64 * 1024, ...observabilityOf(deps), description: "Operator routes, all behind the admin token: credits, agents, the node's status, the economy (prices, Lightning payments, issuance, treasury)." });
  await app.register(healthRoutes, deps);
  await app.register(async (admin) => {
    if (deps.adminAllowlist) admin.addHook("onRequest", requireAllowedAddress(deps.adminAllowlist));
    admin.addHook("onRequest", requireAdminToken(deps.adminToken));
    await admin.register(creditRoutes, deps);
    if (deps.handleAgent) await admin.register(agentAdminRoutes, { ...deps, handleAgent: deps.handleAgent });
    if (deps.status) await admin.register(statusRoutes, { status: deps.status });
    if (deps.economy) await admin.register(economyRoutes, { economy: deps.economy });
  });
  return app;
}
