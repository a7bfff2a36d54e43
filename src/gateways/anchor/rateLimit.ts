import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * At most `limit` requests per bearer token in any `windowMs`, as an onRequest hook placed after
 * the token check (so only a valid token is ever a key, and the map holds one entry per token).
 * A sliding log: each key keeps the times of its last `limit` admitted requests.
 * @fastify/rate-limit would do this, but it is not among the project's dependencies.
 */
export function limitPerToken(opts: { limit: number; windowMs: number; what: string; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const admitted = new Map<string, number[]>();
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const key = req.headers.authorization ?? "";
    const t = now();
    const times = (admitted.get(key) ?? []).filter((at) => at > t - opts.windowMs);
    reply.header("x-ratelimit-limit", opts.limit);
    if (times.length >= opts.limit) {
      admitted.set(key, times);
      const retryAfterS = Math.max(1, Math.ceil((times[0]! + opts.windowMs - t) / 1000));
      reply.header("x-ratelimit-remaining", 0).header("retry-after", retryAfterS);
      return reply.code(429).send({ error: "rate_limited", message: `at most ${opts.limit} ${opts.what} per ${opts.windowMs / 1000} s; try again in ${retryAfterS} s` });
    }
    times.push(t);
    admitted.set(key, times);
    reply.header("x-ratelimit-remaining", opts.limit - times.length);
  };
}
