import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { BitcoinRpc } from "../../adapters/bitcoin/rpc.js";
import { anchorProxy, type BitcoindFailure } from "../../app/anchor/anchorProxy.js";
import type { Refusal } from "../../app/commands.js";
import { AnchorBroadcastReceipt, CheckpointHash, Txid } from "../../domain/ledger/anchor.js";
import { requireAdminToken } from "../adminAuth.js";
import { gatewayApp, type GatewayOptions } from "../gatewayApp.js";
import type { LogLevel, LogLine } from "../gatewayLog.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, ROUTE_ERRORS } from "../replies.js";
import rateLimit from "@fastify/rate-limit";

export interface AnchorProxyDeps {
  readonly rpc: BitcoinRpc;
  /** The bearer token every route requires. */
  readonly token: string;
  /** Where the proxy logs (its broadcasts at "info", and what went wrong); none: nothing is logged. */
  readonly log?: LogLine;
  readonly logLevel?: LogLevel;
  /** The proxy process's instruments, served at /metrics. */
  readonly metrics?: GatewayOptions["metrics"];
  /** Default BROADCASTS_PER_MINUTE. */
  readonly broadcastsPerMinute?: number;
  /** The rate limit's window; default a minute. */
  readonly rateWindowMs?: number;
}

export const BROADCASTS_PER_MINUTE = 10;

export const BroadcastBody = z.object({ hash: CheckpointHash });
export const BroadcastReply = AnchorBroadcastReceipt.extend({ feeBtc: z.number() });
export type BroadcastReply = z.infer<typeof BroadcastReply>;

/** bitcoind refused, with its reason, the method and its code. */
const BitcoindRefused = ErrorReply.extend({ method: z.string(), code: z.number().nullable() });
const BITCOIND_ERRORS = { 502: BitcoindRefused, 503: ErrorReply };
const STATUS = { bitcoind_refused: 502, bitcoind_unreachable: 503, unknown_transaction: 404 } as const;
const failureBody = (f: BitcoindFailure | Refusal) => ({ error: f.refused, message: f.message, ...("method" in f ? { method: f.method, code: f.code } : {}) });

const Confirmation = z.object({
  txid: z.string(),
  confirmations: z.number().int(),
  blockhash: z.string().optional(),
  /** null: the transaction carries no checkpoint hash of ours. */
  payloadHash: z.string().nullable(),
});
const AnchorHealth = z.union([
  z.object({ ok: z.boolean(), reachable: z.literal(true), chain: z.string(), blocks: z.number().int(), balanceBtc: z.number() }),
  z.object({ ok: z.boolean(), reachable: z.literal(true), chain: z.string(), blocks: z.number().int(), walletError: z.string() }),
  z.object({ ok: z.literal(false), reachable: z.boolean(), message: z.string() }),
]);

/**
 * The anchor proxy (port 4311): the one place that holds bitcoind's credentials. It writes a
 * checkpoint hash into an OP_RETURN output that the wallet funds, signs and sends, and reads
 * such a transaction back. Every route needs the bearer token. Broadcasts are limited to
 * BROADCASTS_PER_MINUTE per token (every request with the token counts, also one refused later
 * for bad input or by bitcoind) and made one at a time, so two never fund from the same coin.
 */
export async function buildAnchorProxy(deps: AnchorProxyDeps): Promise<FastifyInstance> {
  const proxy = anchorProxy(deps.rpc);
  const app = await gatewayApp({
    service: "anchor proxy",
    bodyLimit: 1024,
    log: deps.log,
    logLevel: deps.logLevel,
    metrics: deps.metrics,
    guarded: true,
    description: "Sends ledger checkpoint hashes to Bitcoin (OP_RETURN) and reads them back. Every route needs its bearer token, /docs and /metrics included.",
  });
  app.addHook("onRequest", requireAdminToken(deps.token));

  // Counted per bearer token, after the token check (an app-wide hook that runs first), so only
  // a valid token is ever a key; every request with it counts, also one refused later.
  await app.register(rateLimit, { global: false });
  const max = deps.broadcastsPerMinute ?? BROADCASTS_PER_MINUTE;
  const windowMs = deps.rateWindowMs ?? 60_000;
  const broadcastLimit = {
    max,
    timeWindow: windowMs,
    keyGenerator: (req: { headers: { authorization?: string }; ip: string }) => req.headers.authorization ?? req.ip,
    errorResponseBuilder: (_req: unknown, context: { ttl: number }) => ({
      statusCode: 429,
      code: "rate_limited",
      error: "rate_limited",
      message: `at most ${max} broadcasts per ${windowMs / 1000} s; try again in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`,
    }),
  };

  app.post(
    "/anchor/broadcast",
    { config: { rateLimit: broadcastLimit }, schema: { body: BroadcastBody, response: { 200: BroadcastReply, 429: ErrorReply, ...BITCOIND_ERRORS, ...ROUTE_ERRORS, ...AUTH_ERRORS, ...BODY_ERRORS } } },
    async (req, reply) => {
      const answer = await proxy.broadcast(req.body.hash);
      if ("refused" in answer) {
        req.log.warn({ hash: req.body.hash, err: answer.message }, "checkpoint hash not broadcast");
        return reply.code(STATUS[answer.refused]).send(failureBody(answer));
      }
      req.log.info({ hash: req.body.hash, ...answer }, "checkpoint hash broadcast");
      return answer;
    },
  );

  app.get(
    "/anchor/confirm/:txid",
    { schema: { params: z.object({ txid: Txid }), response: { 200: Confirmation, 404: ErrorReply, ...BITCOIND_ERRORS, ...ROUTE_ERRORS, ...AUTH_ERRORS } } },
    async (req, reply) => {
      const answer = await proxy.confirm(req.params.txid);
      if ("refused" in answer) return reply.code(STATUS[answer.refused]).send(failureBody(answer));
      return answer;
    },
  );

  app.get("/health", { schema: { response: { 200: AnchorHealth, ...AUTH_ERRORS, 500: ErrorReply } } }, () => proxy.health());
  return app;
}
