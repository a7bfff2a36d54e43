import type { FastifyInstance } from "fastify";
import { requireAdminToken } from "../adminAuth.js";
import { gatewayApp, observabilityOf, type GatewayObservability } from "../gatewayApp.js";
import { healthRoutes, type HealthRoutesDeps } from "../healthRoutes.js";
import type { LogLine } from "../gatewayLog.js";
import { agentRoutes, type AgentRoutesDeps } from "./agentRoutes.js";
import { bleSyncRoutes, type BleSyncRoutesDeps } from "./bleSyncRoutes.js";
import { escalationRoutes, type EscalationRoutesDeps } from "./escalationRoutes.js";
import { taskRoutes, type TaskRoutesDeps } from "./taskRoutes.js";

export interface CoordinatorDeps extends HealthRoutesDeps, AgentRoutesDeps, TaskRoutesDeps, Partial<Pick<BleSyncRoutesDeps, "store">>, Omit<EscalationRoutesDeps, "handleSubtask">, GatewayObservability {
  readonly adminToken: string;
  /** The node's log, for what went wrong (every 5xx); none: nothing is logged. */
  readonly log?: LogLine;
}

/**
 * The coordinator gateway (port 4301): signed worker routes (register, heartbeat, pull, result),
 * and, behind the admin token, task submission and reads and the escalation routes.
 */
export async function buildCoordinator(deps: CoordinatorDeps): Promise<FastifyInstance> {
  // Results carry code, output and stderr of up to 256 KiB each.
  const app = await gatewayApp({ service: "coordinator", bodyLimit: 1024 * 1024, ...observabilityOf(deps), description: "Signed worker routes (register, heartbeat, pull, result); behind the admin token, task submission, reads and escalation." });
  await app.register(healthRoutes, deps);
  await app.register(agentRoutes, deps);
  if (deps.store && deps.handleCredit) await app.register(bleSyncRoutes, { ...deps, store: deps.store, handleCredit: deps.handleCredit });
  await app.register(async (admin) => {
    admin.addHook("onRequest", requireAdminToken(deps.adminToken));
    await admin.register(taskRoutes, deps);
    await admin.register(escalationRoutes, deps);
  });
  return app;
}
