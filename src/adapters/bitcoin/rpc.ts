import { readFile } from "node:fs/promises";
import { z } from "zod";

/**
 * A bitcoind JSON-RPC client over fetch. The npm clients for bitcoind are either unmaintained or
 * built on the deprecated `request` package (bitcoin-core 5 still depends on it); what bitcoind
 * needs is one POST per call, so a few lines of fetch with zod on every reply serve better.
 */
export interface BitcoinRpcConfig {
  /** http://host:port of bitcoind's RPC server, without credentials. */
  readonly url: string;
  /** rpcuser/rpcpassword, or the .cookie file bitcoind writes into its data folder (read at each call: it changes when bitcoind restarts). */
  readonly auth: { readonly user: string; readonly password: string } | { readonly cookieFile: string };
  /** The wallet to use (/wallet/<name>); needed when bitcoind has more than one loaded. */
  readonly wallet?: string;
  readonly timeoutMs?: number;
}

/** bitcoind answered, and refused: an RPC error body, an HTTP error, or a reply of the wrong shape. */
export class BitcoinRpcError extends Error {
  override readonly name = "BitcoinRpcError";
  constructor(
    readonly method: string,
    /** bitcoind's RPC error code (-4 wallet error, -5 not found, -26 rejected, ...); absent for a bare HTTP error. */
    readonly code: number | undefined,
    readonly rpcMessage: string,
    readonly httpStatus: number,
  ) {
    super(`bitcoind refused ${method}: ${rpcMessage}${code === undefined ? ` (HTTP ${httpStatus})` : ` (code ${code})`}`);
  }
}

/** No answer from bitcoind at all: not running, wrong address, no cookie file, or too slow. */
export class BitcoindUnreachableError extends Error {
  override readonly name = "BitcoindUnreachableError";
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`bitcoind not reachable at ${url}: ${reason}`);
  }
}

/** bitcoind's RPC error codes this project tells apart. */
export const RPC_INVALID_ADDRESS_OR_KEY = -5;

const RpcReply = z.object({
  result: z.unknown(),
  error: z.object({ code: z.number().int(), message: z.string() }).nullable().optional(),
  id: z.union([z.string(), z.number(), z.null()]),
});

const Hex = z.string().regex(/^([0-9a-f]{2})*$/, "hex");
const Hash = z.string().regex(/^[0-9a-f]{64}$/, "64 hex digits");

export const BlockchainInfo = z.object({ chain: z.string(), blocks: z.number().int(), bestblockhash: Hash }).loose();
export type BlockchainInfo = z.infer<typeof BlockchainInfo>;
export const FundedTransaction = z.object({ hex: Hex, fee: z.number(), changepos: z.number().int() });
export const SignedTransaction = z.object({
  hex: Hex,
  complete: z.boolean(),
  errors: z.array(z.object({ error: z.string() }).loose()).optional(),
});
export const RawTransaction = z
  .object({
    txid: Hash,
    hex: Hex,
    vout: z.array(
      z.object({
        value: z.number(),
        n: z.number().int(),
        scriptPubKey: z.object({ asm: z.string(), hex: Hex, type: z.string() }).loose(),
      }),
    ),
    /** Absent while the transaction waits in the mempool. */
    confirmations: z.number().int().optional(),
    blockhash: Hash.optional(),
  })
  .loose();
export type RawTransaction = z.infer<typeof RawTransaction>;

/** Data outputs as createrawtransaction takes them: [{ data: hex }]. */
export type RawOutputs = readonly { readonly data: string }[];

export interface BitcoinRpc {
  /** Where calls go (wallet path included, never credentials): for messages. */
  readonly endpoint: string;
  call<T>(method: string, params: readonly unknown[], result: z.ZodType<T>): Promise<T>;
  getBlockchainInfo(): Promise<BlockchainInfo>;
  /** The wallet's trusted balance in BTC. */
  getBalance(): Promise<number>;
  createRawTransaction(inputs: readonly { txid: string; vout: number }[], outputs: RawOutputs): Promise<string>;
  fundRawTransaction(hex: string): Promise<z.infer<typeof FundedTransaction>>;
  signRawTransactionWithWallet(hex: string): Promise<z.infer<typeof SignedTransaction>>;
  sendRawTransaction(hex: string): Promise<string>;
  getRawTransaction(txid: string): Promise<RawTransaction>;
}

export function bitcoinRpc(config: BitcoinRpcConfig): BitcoinRpc {
  const base = config.url.replace(/\/+$/, "");
  const endpoint = config.wallet === undefined ? base : `${base}/wallet/${encodeURIComponent(config.wallet)}`;
  const timeoutMs = config.timeoutMs ?? 30_000;
  let nextId = 1;

  async function authorization(): Promise<string> {
    const auth = config.auth;
    let pair: string;
    if ("cookieFile" in auth) {
      try {
        pair = (await readFile(auth.cookieFile, "utf8")).trim();
      } catch (err) {
        // bitcoind deletes its cookie when it stops: a missing cookie means no bitcoind.
        throw new BitcoindUnreachableError(endpoint, `cannot read cookie file ${auth.cookieFile} (${(err as NodeJS.ErrnoException).code ?? String(err)}); is bitcoind running?`);
      }
    } else pair = `${auth.user}:${auth.password}`;
    return `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
  }

  async function call<T>(method: string, params: readonly unknown[], result: z.ZodType<T>): Promise<T> {
    const id = nextId++;
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: await authorization() },
        body: JSON.stringify({ jsonrpc: "1.0", id, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (err instanceof BitcoindUnreachableError) throw err;
      throw new BitcoindUnreachableError(endpoint, describeFetchFailure(err, timeoutMs));
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new BitcoindUnreachableError(endpoint, describeFetchFailure(err, timeoutMs));
    }
    // bitcoind answers an RPC error with HTTP 500 (404 for an unknown method) and a JSON body;
    // a bad password gets a bare 401, a forbidden method a bare 403.
    const reply = RpcReply.safeParse(parseJson(text));
    if (reply.success && reply.data.error) throw new BitcoinRpcError(method, reply.data.error.code, reply.data.error.message, res.status);
    if (!res.ok) throw new BitcoinRpcError(method, undefined, httpReason(res.status, text), res.status);
    if (!reply.success) throw new BitcoinRpcError(method, undefined, `not a JSON-RPC reply: ${text.slice(0, 200)}`, res.status);
    if (reply.data.id !== id) throw new BitcoinRpcError(method, undefined, `reply to request ${String(reply.data.id)}, not ${id}`, res.status);
    const parsed = result.safeParse(reply.data.result);
    if (!parsed.success) throw new BitcoinRpcError(method, undefined, `unexpected result: ${z.prettifyError(parsed.error)}`, res.status);
    return parsed.data;
  }

  return {
    endpoint,
    call,
    getBlockchainInfo: () => call("getblockchaininfo", [], BlockchainInfo),
    getBalance: () => call("getbalance", [], z.number()),
    createRawTransaction: (inputs, outputs) => call("createrawtransaction", [inputs, outputs], Hex),
    fundRawTransaction: (hex) => call("fundrawtransaction", [hex], FundedTransaction),
    signRawTransactionWithWallet: (hex) => call("signrawtransactionwithwallet", [hex], SignedTransaction),
    sendRawTransaction: (hex) => call("sendrawtransaction", [hex], Hash),
    getRawTransaction: (txid) => call("getrawtransaction", [txid, true], RawTransaction),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function httpReason(status: number, body: string): string {
  if (status === 401) return "wrong RPC user/password or cookie";
  if (status === 403) return "method forbidden for this RPC user (rpcwhitelist)";
  const text = body.trim().slice(0, 200);
  return text ? `HTTP ${status}: ${text}` : `HTTP ${status}`;
}

function describeFetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
  // fetch says only "fetch failed"; the reason (connect ECONNREFUSED ..., other side closed) is its cause.
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.message || cause?.code || (err instanceof Error ? err.message : String(err));
}
