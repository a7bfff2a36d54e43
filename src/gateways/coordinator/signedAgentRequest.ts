import type { FastifyReply, FastifyRequest } from "fastify";
import { verifySignedRequest, type NonceStore } from "../../adapters/security/signedRequests.js";

declare module "fastify" {
  interface FastifyRequest {
    agentId?: string;
  }
}

/**
 * The hook of every route an agent signs: the signature covers method, path, time, nonce and the
 * body's exact bytes (which the gateway's JSON parser keeps as rawBody), checked before the body
 * is validated; the nonce is claimed in JetStream KV so a replay on any coordinator is refused.
 */
export function signedAgentRequest(nonces: NonceStore) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const check = await verifySignedRequest(req.headers, req.method, req.url, req.rawBody ?? Buffer.alloc(0), nonces);
    if (!check.ok) return reply.code(check.status).send({ error: check.status === 401 ? "unauthorized" : "bad_request", message: check.reason });
    req.agentId = check.agent;
  };
}
