import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Bearer-token check; compares digests so timing leaks nothing. `required` says in the 401 which
 * token is missing.
 */
export function requireBearerToken(token: string, required: string) {
  const expected = digest(token);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!given || !timingSafeEqual(digest(given), expected)) {
      return reply.code(401).send({ error: "unauthorized", message: `${required} is required (Authorization: Bearer ...)` });
    }
  };
}

/** The operator's routes. */
export const requireAdminToken = (token: string) => requireBearerToken(token, "an admin bearer token");
