import { z } from "zod";
import type { BitcoinRpcConfig } from "./rpc.js";

/** bitcoind's RPC port in regtest. */
export const REGTEST_RPC_URL = "http://127.0.0.1:18443";

/** How to reach bitcoind's RPC, by environment variable; shared by the anchor proxy and the audit. */
export const BitcoinRpcEnv = z.object({
  BITCOIN_RPC_URL: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
    .refine((u) => !new URL(u).username && !new URL(u).password, "must not carry credentials: set BITCOIN_RPC_USER/BITCOIN_RPC_PASSWORD or BITCOIN_RPC_COOKIE_FILE"),
  BITCOIN_RPC_USER: z.string().min(1).optional(),
  BITCOIN_RPC_PASSWORD: z.string().min(1).optional(),
  BITCOIN_RPC_COOKIE_FILE: z.string().min(1).optional(),
  BITCOIN_RPC_WALLET: z.string().min(1).max(200).optional(),
});
type BitcoinRpcEnv = z.infer<typeof BitcoinRpcEnv>;

/** Credentials are a user and password, or a cookie file: one of the two, whole. */
export function checkRpcCredentials(env: BitcoinRpcEnv, ctx: z.RefinementCtx): void {
  const password = env.BITCOIN_RPC_USER !== undefined || env.BITCOIN_RPC_PASSWORD !== undefined;
  if (password && env.BITCOIN_RPC_COOKIE_FILE !== undefined) {
    ctx.addIssue({ code: "custom", path: ["BITCOIN_RPC_COOKIE_FILE"], message: "set either BITCOIN_RPC_USER/BITCOIN_RPC_PASSWORD or BITCOIN_RPC_COOKIE_FILE, not both" });
  } else if (password && (env.BITCOIN_RPC_USER === undefined || env.BITCOIN_RPC_PASSWORD === undefined)) {
    ctx.addIssue({ code: "custom", path: [env.BITCOIN_RPC_USER === undefined ? "BITCOIN_RPC_USER" : "BITCOIN_RPC_PASSWORD"], message: "BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD go together" });
  } else if (!password && env.BITCOIN_RPC_COOKIE_FILE === undefined) {
    ctx.addIssue({ code: "custom", path: ["BITCOIN_RPC_COOKIE_FILE"], message: "bitcoind needs credentials: BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD, or BITCOIN_RPC_COOKIE_FILE" });
  }
}

/** The variables as the schema reads them: an empty variable counts as unset, the URL regtest's by default. */
export function bitcoinRpcEnvOf(env: Record<string, string | undefined>, url?: string): Record<keyof BitcoinRpcEnv, string | undefined> {
  const set = (name: string) => env[name] || undefined;
  return {
    BITCOIN_RPC_URL: url ?? set("BITCOIN_RPC_URL") ?? REGTEST_RPC_URL,
    BITCOIN_RPC_USER: set("BITCOIN_RPC_USER"),
    BITCOIN_RPC_PASSWORD: set("BITCOIN_RPC_PASSWORD"),
    BITCOIN_RPC_COOKIE_FILE: set("BITCOIN_RPC_COOKIE_FILE"),
    BITCOIN_RPC_WALLET: set("BITCOIN_RPC_WALLET"),
  };
}

export function rpcConfigOf(e: BitcoinRpcEnv): BitcoinRpcConfig {
  return {
    url: e.BITCOIN_RPC_URL,
    auth: e.BITCOIN_RPC_COOKIE_FILE !== undefined ? { cookieFile: e.BITCOIN_RPC_COOKIE_FILE } : { user: e.BITCOIN_RPC_USER!, password: e.BITCOIN_RPC_PASSWORD! },
    ...(e.BITCOIN_RPC_WALLET !== undefined ? { wallet: e.BITCOIN_RPC_WALLET } : {}),
  };
}

/** bitcoind's RPC from the environment (`url` overrides BITCOIN_RPC_URL); throws naming every bad variable. */
export function bitcoinRpcConfigFrom(env: Record<string, string | undefined> = process.env, url?: string): BitcoinRpcConfig {
  const parsed = BitcoinRpcEnv.superRefine(checkRpcCredentials).safeParse(bitcoinRpcEnvOf(env, url));
  if (!parsed.success) throw new Error(`bad bitcoind RPC configuration: ${z.prettifyError(parsed.error)}`);
  return rpcConfigOf(parsed.data);
}
