import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { exposition, UNMATCHED_ROUTE, type NodeMetrics } from "../adapters/metrics/registry.js";
import { AUTH_ERRORS, ROUTE_ERRORS } from "./replies.js";

/**
 * Counts and times every answered request by route pattern (never the raw URL: the number of
 * series stays bounded whatever is asked) and status, and serves the node's registry at
 * GET /metrics in Prometheus' text format. Not behind the admin token (see the README's
 * operator section): what it shows are counts, with no ids, keys or request contents.
 */
export function serveMetrics(app: FastifyInstance, service: string, metrics: NodeMetrics, guarded: boolean): void {
  app.addHook("onResponse", async (req, reply) => {
    const labels = { service, method: req.method, route: req.routeOptions.url ?? UNMATCHED_ROUTE, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics of the whole node, in the text exposition format",
        response: {
          200: { description: "every metric of the node's registry and of its worker process", content: { [metrics.registry.contentType]: { schema: z.string() } } },
          ...ROUTE_ERRORS,
          ...(guarded ? AUTH_ERRORS : {}),
        },
      },
    },
    async (_req, reply) => reply.type(metrics.registry.contentType).send(await exposition(metrics)),
  );
}
