import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small HTTP server that speaks bitcoind's JSON-RPC wire format (JSON-RPC 1.0 over POST, basic
 * auth, /wallet/<name> endpoints, errors as {result:null, error:{code,message}, id} with HTTP 500,
 * 404 for an unknown method, a bare 401 for bad credentials), so the real client runs against it.
 *
 * Its wallet holds one coin. Transactions are real serialized bytes (legacy format) and their ids
 * the reversed double SHA-256 of those bytes, as bitcoind computes them. Funding spends the coin
 * to a fixed fee and sends the rest to a change output, which becomes the next coin; the hex it
 * hands out is remembered, and hex it never produced does not decode.
 */
export interface FakeBitcoind {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly wallet: string;
  /** Every authenticated call, in order, with what it answered. */
  readonly requests: FakeRpcCall[];
  /** The wallet's spendable coin, in satoshis. */
  balanceSats(): number;
  /** Replaces the wallet's coin with a fresh one of this value (0 empties the wallet). */
  setBalance(sats: number): void;
  /** Makes every call of `method` fail with this bitcoind error until cleared with undefined. */
  refuse(method: string, error: { code: number; message: string } | undefined): void;
  /** Confirms what is in the mempool in the next block, then adds n - 1 more blocks. */
  mine(n: number): void;
  /** The current height. */
  height(): number;
  /** Stops answering: connections are refused until comeBack(). */
  goOffline(): Promise<void>;
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

export interface FakeRpcCall {
  readonly path: string;
  readonly method: string;
  readonly params: unknown[];
  result?: unknown;
  error?: { code: number; message: string };
}

export const FAKE_FEE_SATS = 1_410;
const RPC_INVALID_REQUEST = -32600;
const RPC_METHOD_NOT_FOUND = -32601;
const RPC_PARSE_ERROR = -32700;
const RPC_WALLET_ERROR = -4;
const RPC_INVALID_ADDRESS_OR_KEY = -5;
const RPC_INVALID_PARAMETER = -8;
const RPC_WALLET_NOT_FOUND = -18;
const RPC_DESERIALIZATION_ERROR = -22;
const RPC_VERIFY_REJECTED = -26;

interface TxIn {
  readonly txid: string;
  readonly vout: number;
  readonly scriptSig: Buffer;
}
interface TxOut {
  readonly sats: number;
  readonly script: Buffer;
}
interface Tx {
  readonly inputs: readonly TxIn[];
  readonly outputs: readonly TxOut[];
}
interface Coin {
  readonly txid: string;
  readonly vout: number;
  readonly sats: number;
}

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest();
const dsha256 = (b: Buffer) => sha256(sha256(b));
const reversedHex = (b: Buffer) => Buffer.from(b).reverse().toString("hex");
const btc = (sats: number) => Number((sats / 1e8).toFixed(8));

function varint(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  const b = Buffer.alloc(3);
  b[0] = 0xfd;
  b.writeUInt16LE(n, 1);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function serialize(tx: Tx): Buffer {
  const parts: Buffer[] = [u32(2), varint(tx.inputs.length)];
  for (const input of tx.inputs) {
    parts.push(Buffer.from(input.txid, "hex").reverse(), u32(input.vout), varint(input.scriptSig.length), input.scriptSig, u32(0xfffffffd));
  }
  parts.push(varint(tx.outputs.length));
  for (const output of tx.outputs) {
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(BigInt(output.sats));
    parts.push(value, varint(output.script.length), output.script);
  }
  parts.push(u32(0));
  return Buffer.concat(parts);
}

const txidOf = (tx: Tx) => reversedHex(dsha256(serialize(tx)));

function pushData(data: Buffer): Buffer {
  if (data.length < 0x4c) return Buffer.concat([Buffer.from([data.length]), data]);
  return Buffer.concat([Buffer.from([0x4c, data.length]), data]);
}

function describeScript(script: Buffer): { asm: string; hex: string; type: string } {
  const hex = script.toString("hex");
  if (script[0] === 0x6a) {
    const len = script[1] === 0x4c ? script[2]! : script[1]!;
    const start = script[1] === 0x4c ? 3 : 2;
    return { asm: `OP_RETURN ${script.subarray(start, start + len).toString("hex")}`, hex, type: "nulldata" };
  }
  if (script[0] === 0x00 && script[1] === 0x14) return { asm: `0 ${script.subarray(2).toString("hex")}`, hex, type: "witness_v0_keyhash" };
  return { asm: hex, hex, type: "nonstandard" };
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });

export async function startFakeBitcoind(opts: { user?: string; password?: string; wallet?: string; balanceSats?: number } = {}): Promise<FakeBitcoind> {
  const user = opts.user ?? "edgecoder";
  const password = opts.password ?? "regtest-password";
  const wallet = opts.wallet ?? "anchors";
  const changeScript = Buffer.concat([Buffer.from([0x00, 0x14]), sha256(Buffer.from(`change of ${wallet}`)).subarray(0, 20)]);
  const requests: FakeBitcoind["requests"] = [];
  const refusals = new Map<string, { code: number; message: string }>();
  /** Hex this node produced (created, funded or signed) and can decode again. */
  const drafts = new Map<string, Tx>();
  const transactions = new Map<string, { tx: Tx; height: number | undefined }>();
  let tip = 101;
  let coin: Coin | undefined;
  let funding = 0;

  const fund = (sats: number) => {
    coin = sats > 0 ? { txid: reversedHex(dsha256(Buffer.from(`funding ${wallet} ${++funding}`))), vout: 0, sats } : undefined;
  };
  fund(opts.balanceSats ?? 50 * 1e8);
  const blockHash = (height: number) => reversedHex(dsha256(Buffer.from(`block ${height}`)));
  const remember = (tx: Tx) => {
    const hex = serialize(tx).toString("hex");
    drafts.set(hex, tx);
    return hex;
  };
  const decode = (hex: unknown): Tx => {
    const tx = typeof hex === "string" ? drafts.get(hex.toLowerCase()) : undefined;
    if (!tx) throw new RpcFailure(RPC_DESERIALIZATION_ERROR, "TX decode failed");
    return tx;
  };
  const isWalletCoin = (input: TxIn) => coin !== undefined && input.txid === coin.txid && input.vout === coin.vout;

  const methods: Record<string, (params: unknown[]) => unknown> = {
    getblockchaininfo: () => ({
      chain: "regtest",
      blocks: tip,
      headers: tip,
      bestblockhash: blockHash(tip),
      difficulty: 4.656542373906925e-10,
      verificationprogress: 1,
      initialblockdownload: false,
      pruned: false,
      warnings: [],
    }),
    getbalance: () => btc(coin?.sats ?? 0),
    createrawtransaction: ([inputs, outputs]) => {
      if (!Array.isArray(inputs) || !Array.isArray(outputs)) throw new RpcFailure(RPC_INVALID_PARAMETER, "Invalid parameter, inputs and outputs must be arrays");
      if (inputs.length > 0) throw new RpcFailure(RPC_INVALID_PARAMETER, "this fake creates transactions without inputs only");
      const txOutputs = outputs.map((o: unknown) => {
        const data = (o as { data?: unknown }).data;
        if (typeof data !== "string" || !/^([0-9a-fA-F]{2})*$/.test(data)) throw new RpcFailure(RPC_INVALID_PARAMETER, "Data must be hexadecimal string");
        return { sats: 0, script: Buffer.concat([Buffer.from([0x6a]), pushData(Buffer.from(data, "hex"))]) };
      });
      return remember({ inputs: [], outputs: txOutputs });
    },
    fundrawtransaction: ([hex]) => {
      const tx = decode(hex);
      const needed = tx.outputs.reduce((sum, o) => sum + o.sats, 0) + FAKE_FEE_SATS;
      if (!coin || coin.sats < needed) throw new RpcFailure(RPC_WALLET_ERROR, "Insufficient funds");
      const funded: Tx = {
        inputs: [...tx.inputs, { txid: coin.txid, vout: coin.vout, scriptSig: Buffer.alloc(0) }],
        outputs: [...tx.outputs, { sats: coin.sats - needed, script: changeScript }],
      };
      return { hex: remember(funded), fee: btc(FAKE_FEE_SATS), changepos: funded.outputs.length - 1 };
    },
    signrawtransactionwithwallet: ([hex]) => {
      const tx = decode(hex);
      const unsigned = serialize({ inputs: tx.inputs.map((i) => ({ ...i, scriptSig: Buffer.alloc(0) })), outputs: tx.outputs });
      const errors = tx.inputs.filter((i) => !isWalletCoin(i)).map((i) => ({ txid: i.txid, vout: i.vout, error: "Input not found or already spent" }));
      const signed: Tx = { inputs: tx.inputs.map((i) => (isWalletCoin(i) ? { ...i, scriptSig: pushData(sha256(unsigned)) } : i)), outputs: tx.outputs };
      return { hex: remember(signed), complete: errors.length === 0, ...(errors.length ? { errors } : {}) };
    },
    sendrawtransaction: ([hex]) => {
      const tx = decode(hex);
      const txid = txidOf(tx);
      if (transactions.has(txid)) return txid;
      if (tx.inputs.length === 0 || tx.inputs.some((i) => i.scriptSig.length === 0)) {
        throw new RpcFailure(RPC_VERIFY_REJECTED, "mandatory-script-verify-flag-failed (Operation not valid with the current stack size)");
      }
      if (!tx.inputs.every(isWalletCoin)) throw new RpcFailure(RPC_VERIFY_REJECTED, "txn-mempool-conflict");
      transactions.set(txid, { tx, height: undefined });
      const change = tx.outputs.findIndex((o) => o.script.equals(changeScript));
      coin = change >= 0 ? { txid, vout: change, sats: tx.outputs[change]!.sats } : undefined;
      return txid;
    },
    getrawtransaction: ([txid, verbose]) => {
      if (typeof txid !== "string" || !/^[0-9a-fA-F]{64}$/.test(txid)) {
        throw new RpcFailure(RPC_INVALID_PARAMETER, `txid must be of length 64 (not ${String(txid).length}, for '${String(txid)}')`);
      }
      const known = transactions.get(txid.toLowerCase());
      if (!known) throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.");
      const bytes = serialize(known.tx);
      if (!(verbose === true || verbose === 1)) return bytes.toString("hex");
      const id = txidOf(known.tx);
      return {
        txid: id,
        hash: id,
        version: 2,
        size: bytes.length,
        vsize: bytes.length,
        weight: bytes.length * 4,
        locktime: 0,
        vin: known.tx.inputs.map((i) => ({ txid: i.txid, vout: i.vout, scriptSig: { asm: i.scriptSig.toString("hex"), hex: i.scriptSig.toString("hex") }, sequence: 0xfffffffd })),
        vout: known.tx.outputs.map((o, n) => ({ value: btc(o.sats), n, scriptPubKey: describeScript(o.script) })),
        hex: bytes.toString("hex"),
        ...(known.height === undefined
          ? {}
          : { blockhash: blockHash(known.height), confirmations: tip - known.height + 1, time: 1_700_000_000 + known.height * 600, blocktime: 1_700_000_000 + known.height * 600 }),
      };
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body) + "\n");
  };
  const expectedAuth = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  const server: Server = createServer(async (req, res) => {
    if (req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="jsonrpc"' });
      return res.end();
    }
    const path = req.url ?? "/";
    const walletPath = /^\/wallet\/(.*)$/.exec(path);
    if (req.method !== "POST" || (path !== "/" && !walletPath)) {
      res.writeHead(req.method !== "POST" ? 405 : 404);
      return res.end();
    }
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(await readBody(req)) as typeof request;
    } catch {
      return send(res, 500, { result: null, error: { code: RPC_PARSE_ERROR, message: "Parse error" }, id: null });
    }
    const id = request.id ?? null;
    if (typeof request.method !== "string") return send(res, 400, { result: null, error: { code: RPC_INVALID_REQUEST, message: "Method must be a string" }, id });
    const params = Array.isArray(request.params) ? (request.params as unknown[]) : [];
    const call: FakeRpcCall = { path, method: request.method, params };
    requests.push(call);
    const fail = (code: number, message: string) => {
      call.error = { code, message };
      send(res, code === RPC_METHOD_NOT_FOUND ? 404 : code === RPC_INVALID_REQUEST ? 400 : 500, { result: null, error: call.error, id });
    };
    if (walletPath && decodeURIComponent(walletPath[1]!) !== wallet) return fail(RPC_WALLET_NOT_FOUND, "Requested wallet does not exist or is not loaded");
    const handler = methods[request.method];
    if (!handler) return fail(RPC_METHOD_NOT_FOUND, "Method not found");
    const refusal = refusals.get(request.method);
    if (refusal) return fail(refusal.code, refusal.message);
    try {
      call.result = handler(params);
      return send(res, 200, { result: call.result, error: null, id });
    } catch (err) {
      if (err instanceof RpcFailure) return fail(err.code, err.message);
      return fail(-1, String(err));
    }
  });

  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const shut = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    user,
    password,
    wallet,
    requests,
    balanceSats: () => coin?.sats ?? 0,
    setBalance: fund,
    refuse: (method, error) => (error ? refusals.set(method, error) : refusals.delete(method)),
    mine(n) {
      for (const entry of transactions.values()) if (entry.height === undefined) entry.height = tip + 1;
      tip += n;
    },
    height: () => tip,
    goOffline: async () => {
      if (server.listening) await shut();
    },
    comeBack: () => (server.listening ? Promise.resolve() : listen(port)),
    close: async () => {
      if (server.listening) await shut();
    },
  };
}
