import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** How many registrations a coordinator takes per window from one source address and from one key. */
export interface RegistrationLimits {
  readonly perAddress: number;
  readonly perKey: number;
  readonly windowMs: number;
}

/**
 * A worker registers when it starts, when its models change and when a coordinator forgot it:
 * a few times an hour. Thirty an address allows a lab of workers behind one NAT starting at
 * once; six a key a worker whose model server flaps. Loopback is not exempt: the node's own
 * worker is one key, far below either.
 */
export const REGISTRATION_LIMITS: RegistrationLimits = { perAddress: 30, perKey: 6, windowMs: 60_000 };

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * The hooks of POST /register (@fastify/rate-limit's counters, in this coordinator's memory):
 * `byAddress` runs first, before the signature is checked, so a flood costs no signature
 * checks or nonces; `byKey` after it, so only a key that signed counts against itself (an
 * unsigned request naming someone else's key cannot use up theirs). A refused registration is a
 * 429 and reaches no handler, so it appends nothing.
 */
export async function registrationLimits(app: FastifyInstance, limits: RegistrationLimits): Promise<{ byAddress: Hook; byKey: Hook }> {
  await app.register(rateLimit, { global: false });
  const window = { timeWindow: limits.windowMs, cache: 50_000 };
  // The default key is the source address, an IPv6 one widened to its /56 (one subscriber's range).
  const address = app.createRateLimit({ ...window, max: limits.perAddress });
  const key = app.createRateLimit({ ...window, max: limits.perKey, keyGenerator: (req) => req.agentId ?? "" });

  const refuseOver = (limiter: typeof address, what: string, max: number): Hook => async (req, reply) => {
    const count = await limiter(req);
    if (count.isAllowed || !count.isExceeded) return undefined;
    const seconds = Math.max(1, count.ttlInSeconds);
    return reply
      .code(429)
      .header("retry-after", String(seconds))
      .send({ error: "rate_limited", message: `at most ${max} registrations per ${limits.windowMs / 1000} s ${what}; try again in ${seconds} s` });
  };
  return { byAddress: refuseOver(address, "from one address", limits.perAddress), byKey: refuseOver(key, "of one key", limits.perKey) };
}
