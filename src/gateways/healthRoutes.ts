import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorReply } from "./replies.js";

const Checks = z.record(z.string(), z.object({ ok: z.boolean(), reason: z.string().optional() }));
export const HealthReport = z.object({ ok: z.boolean(), checks: Checks });
export type HealthReport = z.infer<typeof HealthReport>;

export interface HealthRoutesDeps {
  /** What the node depends on and what of it is down; none: the gateway alone (tests). */
  readonly health?: () => Promise<HealthReport>;
}

const alone = async (): Promise<HealthReport> => ({ ok: true, checks: {} });

/**
 * GET /health answers while the process runs (200) and says what is down; GET /ready is 503
 * while anything the node needs is away, so a load balancer or a supervisor sends no work.
 */
export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesDeps> = async (app, deps) => {
  const report = deps.health ?? alone;
  app.get("/health", { schema: { response: { 200: HealthReport, 500: ErrorReply } } }, async () => report());
  app.get("/ready", { schema: { response: { 200: HealthReport, 503: HealthReport, 500: ErrorReply } } }, async (_req, reply) => {
    const r = await report();
    return reply.code(r.ok ? 200 : 503).send(r);
  });
};
