import { z } from "zod";
import { bitcoinRpc } from "../../adapters/bitcoin/rpc.js";
import { nodeMetrics } from "../../adapters/metrics/registry.js";
import { LogLevel, terminalLog } from "../gatewayLog.js";
import { buildAnchorProxy } from "./app.js";
import { anchorProxyConfigFrom, type AnchorProxyConfig } from "./config.js";

/** `node dist/gateways/anchor/main.js`: the anchor proxy, configured from its environment (docs/anchoring.md). */
let config: AnchorProxyConfig;
let logLevel: LogLevel;
try {
  config = anchorProxyConfigFrom(process.env);
  // "info" by default: each broadcast is logged, and each request.
  const level = LogLevel.safeParse(process.env.EC_LOG_LEVEL?.trim().toLowerCase() || "info");
  if (!level.success) throw new Error(`bad anchor proxy configuration: ${z.prettifyError(level.error)}`);
  logLevel = level.data;
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
const rpc = bitcoinRpc(config.rpc);
const app = await buildAnchorProxy({ rpc, token: config.token, log: await terminalLog(), logLevel, metrics: nodeMetrics() });
await app.listen({ host: config.host, port: config.port });
// Starting without bitcoind is allowed (it may come up later); say so rather than fail.
await rpc.getBlockchainInfo().then(
  (info) => app.log.info({ chain: info.chain, blocks: info.blocks, rpc: rpc.endpoint }, "bitcoind reachable"),
  (err: unknown) => app.log.warn({ rpc: rpc.endpoint, err: err instanceof Error ? err.message : String(err) }, "bitcoind not answering yet"),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
