import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { requireAdminToken } from "../adminAuth.js";
import { installErrorReplies } from "../errors.js";
import { agentRoutes, type AgentRoutesDeps } from "./agentRoutes.js";
import { escalationRoutes, type EscalationRoutesDeps } from "./escalationRoutes.js";
import { taskRoutes, type TaskRoutesDeps } from "./taskRoutes.js";

export interface CoordinatorDeps extends AgentRoutesDeps, TaskRoutesDeps, Omit<EscalationRoutesDeps, "handleSubtask"> {
  readonly adminToken: string;
  readonly logger?: boolean;
}

/**
 * The coordinator gateway (port 4301): signed worker routes (register, heartbeat, pull, result),
 * and, behind the admin token, task submission and reads and the escalation routes.
 */
export async function buildCoordinator(deps: CoordinatorDeps): Promise<FastifyInstance> {
  // Results carry code, output and stderr of up to 256 KiB each.
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorReplies(app);
  app.get("/health", async () => ({ ok: true }));
  await app.register(agentRoutes, deps);
  await app.register(async (admin) => {
    admin.addHook("onRequest", requireAdminToken(deps.adminToken));
    await admin.register(taskRoutes, deps);
    await admin.register(escalationRoutes, deps);
  });
  return app;
}
