import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { requireAdminToken } from "../adminAuth.js";
import { installErrorReplies } from "../errors.js";
import { agentAdminRoutes, type AgentAdminDeps } from "./agentAdminRoutes.js";
import { creditRoutes, type CreditRoutesDeps } from "./creditRoutes.js";

export interface ControlPlaneDeps extends CreditRoutesDeps, Partial<Pick<AgentAdminDeps, "handleAgent">> {
  readonly adminToken: string;
  readonly logger?: boolean;
}

/** The control plane (port 4303): operator routes, all behind the admin token. */
export async function buildControlPlane(deps: ControlPlaneDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 64 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorReplies(app);
  app.get("/health", async () => ({ ok: true }));
  await app.register(async (admin) => {
    admin.addHook("onRequest", requireAdminToken(deps.adminToken));
    await admin.register(creditRoutes, deps);
    if (deps.handleAgent) await admin.register(agentAdminRoutes, { ...deps, handleAgent: deps.handleAgent });
  });
  return app;
}
