import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { NodeStatus } from "../../app/status/nodeStatus.js";
import { AUTH_ERRORS, ROUTE_ERRORS } from "../replies.js";

export interface StatusRoutesDeps {
  /** The node's status (app/status/nodeStatus.ts); each part bounded in time. */
  readonly status: () => Promise<NodeStatus>;
}

/** GET /status: what `edgecoder status` shows. Behind the admin token, with the other operator routes. */
export const statusRoutes: FastifyPluginAsyncZod<StatusRoutesDeps> = async (app, deps) => {
  app.get("/status", { schema: { summary: "The node's identity, dependencies, streams, projection lag, queue, agents and ledger", response: { 200: NodeStatus, ...ROUTE_ERRORS, ...AUTH_ERRORS } } }, async () => deps.status());
};
