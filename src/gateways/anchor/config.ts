import { z } from "zod";
import type { BitcoinRpcConfig } from "../../adapters/bitcoin/rpc.js";

const Port = z.coerce.number().int().min(0).max(65535);

/** The anchor proxy's environment, by variable name; an empty variable counts as unset. */
const AnchorProxyEnv = z
  .object({
    BITCOIN_RPC_URL: z
      .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
      .refine((u) => !new URL(u).username && !new URL(u).password, "must not carry credentials: set BITCOIN_RPC_USER/BITCOIN_RPC_PASSWORD or BITCOIN_RPC_COOKIE_FILE"),
    BITCOIN_RPC_USER: z.string().min(1).optional(),
    BITCOIN_RPC_PASSWORD: z.string().min(1).optional(),
    BITCOIN_RPC_COOKIE_FILE: z.string().min(1).optional(),
    BITCOIN_RPC_WALLET: z.string().min(1).max(200).optional(),
    ANCHOR_PROXY_TOKEN: z.string({ error: "is required" }).min(16, "must be at least 16 characters"),
    ANCHOR_PROXY_HOST: z.string().min(1),
    ANCHOR_PROXY_PORT: Port,
  })
  .superRefine((env, ctx) => {
    const password = env.BITCOIN_RPC_USER !== undefined || env.BITCOIN_RPC_PASSWORD !== undefined;
    if (password && env.BITCOIN_RPC_COOKIE_FILE !== undefined) {
      ctx.addIssue({ code: "custom", path: ["BITCOIN_RPC_COOKIE_FILE"], message: "set either BITCOIN_RPC_USER/BITCOIN_RPC_PASSWORD or BITCOIN_RPC_COOKIE_FILE, not both" });
    } else if (password && (env.BITCOIN_RPC_USER === undefined || env.BITCOIN_RPC_PASSWORD === undefined)) {
      ctx.addIssue({ code: "custom", path: [env.BITCOIN_RPC_USER === undefined ? "BITCOIN_RPC_USER" : "BITCOIN_RPC_PASSWORD"], message: "BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD go together" });
    } else if (!password && env.BITCOIN_RPC_COOKIE_FILE === undefined) {
      ctx.addIssue({ code: "custom", path: ["BITCOIN_RPC_COOKIE_FILE"], message: "bitcoind needs credentials: BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD, or BITCOIN_RPC_COOKIE_FILE" });
    }
  });

export interface AnchorProxyConfig {
  readonly rpc: BitcoinRpcConfig;
  readonly token: string;
  readonly host: string;
  readonly port: number;
}

export const ANCHOR_PROXY_PORT = 4311;
/** bitcoind's RPC port in regtest. */
export const REGTEST_RPC_URL = "http://127.0.0.1:18443";

/** The proxy's configuration from its environment; throws naming every bad variable. */
export function anchorProxyConfigFrom(env: Record<string, string | undefined> = process.env): AnchorProxyConfig {
  const set = (name: string) => env[name] || undefined;
  const parsed = AnchorProxyEnv.safeParse({
    BITCOIN_RPC_URL: set("BITCOIN_RPC_URL") ?? REGTEST_RPC_URL,
    BITCOIN_RPC_USER: set("BITCOIN_RPC_USER"),
    BITCOIN_RPC_PASSWORD: set("BITCOIN_RPC_PASSWORD"),
    BITCOIN_RPC_COOKIE_FILE: set("BITCOIN_RPC_COOKIE_FILE"),
    BITCOIN_RPC_WALLET: set("BITCOIN_RPC_WALLET"),
    ANCHOR_PROXY_TOKEN: set("ANCHOR_PROXY_TOKEN"),
    ANCHOR_PROXY_HOST: set("ANCHOR_PROXY_HOST") ?? "127.0.0.1",
    ANCHOR_PROXY_PORT: set("ANCHOR_PROXY_PORT") ?? ANCHOR_PROXY_PORT,
  });
  if (!parsed.success) throw new Error(`bad anchor proxy configuration: ${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  return {
    rpc: {
      url: e.BITCOIN_RPC_URL,
      auth: e.BITCOIN_RPC_COOKIE_FILE !== undefined ? { cookieFile: e.BITCOIN_RPC_COOKIE_FILE } : { user: e.BITCOIN_RPC_USER!, password: e.BITCOIN_RPC_PASSWORD! },
      ...(e.BITCOIN_RPC_WALLET !== undefined ? { wallet: e.BITCOIN_RPC_WALLET } : {}),
    },
    token: e.ANCHOR_PROXY_TOKEN,
    host: e.ANCHOR_PROXY_HOST,
    port: e.ANCHOR_PROXY_PORT,
  };
}
