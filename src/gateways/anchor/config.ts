import { z } from "zod";
import type { BitcoinRpcConfig } from "../../adapters/bitcoin/rpc.js";
import { BitcoinRpcEnv, bitcoinRpcEnvOf, checkRpcCredentials, rpcConfigOf } from "../../adapters/bitcoin/rpcConfig.js";

const Port = z.coerce.number().int().min(0).max(65535);

/** The anchor proxy's environment, by variable name; an empty variable counts as unset. */
const AnchorProxyEnv = BitcoinRpcEnv.extend({
  ANCHOR_PROXY_TOKEN: z.string({ error: "is required" }).min(16, "must be at least 16 characters"),
  ANCHOR_PROXY_HOST: z.string().min(1),
  ANCHOR_PROXY_PORT: Port,
}).superRefine(checkRpcCredentials);

export interface AnchorProxyConfig {
  readonly rpc: BitcoinRpcConfig;
  readonly token: string;
  readonly host: string;
  readonly port: number;
}

export const ANCHOR_PROXY_PORT = 4311;

/** The proxy's configuration from its environment; throws naming every bad variable. */
export function anchorProxyConfigFrom(env: Record<string, string | undefined> = process.env): AnchorProxyConfig {
  const set = (name: string) => env[name] || undefined;
  const parsed = AnchorProxyEnv.safeParse({
    ...bitcoinRpcEnvOf(env),
    ANCHOR_PROXY_TOKEN: set("ANCHOR_PROXY_TOKEN"),
    ANCHOR_PROXY_HOST: set("ANCHOR_PROXY_HOST") ?? "127.0.0.1",
    ANCHOR_PROXY_PORT: set("ANCHOR_PROXY_PORT") ?? ANCHOR_PROXY_PORT,
  });
  if (!parsed.success) throw new Error(`bad anchor proxy configuration: ${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  return { rpc: rpcConfigOf(e), token: e.ANCHOR_PROXY_TOKEN, host: e.ANCHOR_PROXY_HOST, port: e.ANCHOR_PROXY_PORT };
}
