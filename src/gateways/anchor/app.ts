import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { BitcoindUnreachableError, BitcoinRpcError, RPC_INVALID_ADDRESS_OR_KEY, type BitcoinRpc } from "../../adapters/bitcoin/rpc.js";
import { AnchorBroadcastReceipt, anchorPayloadHex, BitcoinNetwork, CheckpointHash, checkpointHashFromOutputs, Txid } from "../../domain/ledger/anchor.js";
import { requireAdminToken } from "../adminAuth.js";
import { gatewayApp, type GatewayOptions } from "../gatewayApp.js";
import type { LogLevel, LogLine } from "../gatewayLog.js";
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

/** bitcoind refused (502, with its reason, method and code) or did not answer (503). */
function bitcoindFailure(err: unknown) {
  if (err instanceof BitcoindUnreachableError) return { status: 503, body: { error: "bitcoind_unreachable", message: err.message } };
  if (err instanceof BitcoinRpcError) return { status: 502, body: { error: "bitcoind_refused", message: err.message, method: err.method, code: err.code ?? null } };
  return undefined;
}

/**
 * The anchor proxy (port 4311): the one place that holds bitcoind's credentials. It writes a
 * checkpoint hash into an OP_RETURN output that the wallet funds, signs and sends, and reads
 * such a transaction back. Every route needs the bearer token. Broadcasts are limited to
 * BROADCASTS_PER_MINUTE per token (every request with the token counts, also one refused later
 * for bad input or by bitcoind) and made one at a time, so two never fund from the same coin.
 */
export async function buildAnchorProxy(deps: AnchorProxyDeps): Promise<FastifyInstance> {
  const { rpc } = deps;
  const app = await gatewayApp({
    service: "anchor proxy",
    bodyLimit: 1024,
    log: deps.log,
    logLevel: deps.logLevel,
    metrics: deps.metrics,
    description: "Sends ledger checkpoint hashes to Bitcoin (OP_RETURN) and reads them back. Every route needs its bearer token, /docs and /metrics included.",
  });
  app.addHook("onRequest", requireAdminToken(deps.token));

  let previous: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = previous.then(work, work);
    previous = run.catch(() => undefined);
    return run;
  };

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

  app.post("/anchor/broadcast", { config: { rateLimit: broadcastLimit }, schema: { body: BroadcastBody } }, async (req, reply) => {
    try {
      const receipt = await oneAtATime(async (): Promise<BroadcastReply> => {
        // The chain first: an anchor records where it lives, and an unknown chain sends nothing.
        const { chain } = await rpc.getBlockchainInfo();
        const network = BitcoinNetwork.safeParse(chain);
        if (!network.success) throw new BitcoinRpcError("getblockchaininfo", undefined, `unknown chain "${chain}"`, 200);
        const created = await rpc.createRawTransaction([], [{ data: anchorPayloadHex(req.body.hash) }]);
        const funded = await rpc.fundRawTransaction(created);
        const signed = await rpc.signRawTransactionWithWallet(funded.hex);
        if (!signed.complete) {
          const why = signed.errors?.map((e) => e.error).join("; ") || "incomplete signature";
          throw new BitcoinRpcError("signrawtransactionwithwallet", undefined, `the wallet could not sign every input: ${why}`, 200);
        }
        const txid = await rpc.sendRawTransaction(signed.hex);
        return { txid, network: network.data, feeBtc: funded.fee };
      });
      req.log.info({ hash: req.body.hash, ...receipt }, "checkpoint hash broadcast");
      return receipt;
    } catch (err) {
      const failure = bitcoindFailure(err);
      if (!failure) throw err;
      req.log.warn({ hash: req.body.hash, err: failure.body.message }, "checkpoint hash not broadcast");
      return reply.code(failure.status).send(failure.body);
    }
  });

  app.get("/anchor/confirm/:txid", { schema: { params: z.object({ txid: Txid }) } }, async (req, reply) => {
    try {
      const tx = await rpc.getRawTransaction(req.params.txid);
      return {
        txid: tx.txid,
        confirmations: tx.confirmations ?? 0,
        ...(tx.blockhash !== undefined ? { blockhash: tx.blockhash } : {}),
        /** null: the transaction carries no checkpoint hash of ours. */
        payloadHash: checkpointHashFromOutputs(tx.vout) ?? null,
      };
    } catch (err) {
      if (err instanceof BitcoinRpcError && err.code === RPC_INVALID_ADDRESS_OR_KEY) {
        return reply.code(404).send({ error: "unknown_transaction", message: err.message });
      }
      const failure = bitcoindFailure(err);
      if (!failure) throw err;
      return reply.code(failure.status).send(failure.body);
    }
  });

  app.get("/health", async () => {
    try {
      const info = await rpc.getBlockchainInfo();
      const balance = await rpc.getBalance().then(
        (btc) => ({ balanceBtc: btc }),
        (err: unknown) => ({ walletError: err instanceof Error ? err.message : String(err) }),
      );
      return { ok: !("walletError" in balance), reachable: true, chain: info.chain, blocks: info.blocks, ...balance };
    } catch (err) {
      const failure = bitcoindFailure(err);
      if (!failure) throw err;
      return { ok: false, reachable: failure.status !== 503, message: failure.body.message };
    }
  });
  return app;
}
