import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { BitcoindUnreachableError, bitcoinRpc, BitcoinRpcError, type BitcoinRpc } from "../../src/adapters/bitcoin/rpc.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { anchorPayloadHex } from "../../src/domain/ledger/anchor.js";
import { buildAnchorProxy } from "../../src/gateways/anchor/app.js";
import { FAKE_FEE_SATS, startFakeBitcoind, type FakeBitcoind } from "../support/fakeBitcoind.js";

const token = "anchor-proxy-test-token";
const auth = { authorization: `Bearer ${token}` };
const hash = createHash("sha256").update("checkpoint 1").digest("hex");
const txidOfHex = (hex: string) => createHash("sha256").update(createHash("sha256").update(Buffer.from(hex, "hex")).digest()).digest().reverse().toString("hex");

let bitcoind: FakeBitcoind;
let rpc: BitcoinRpc;
let app: FastifyInstance;

beforeAll(async () => {
  bitcoind = await startFakeBitcoind();
  rpc = bitcoinRpc({ url: bitcoind.url, auth: { user: bitcoind.user, password: bitcoind.password }, wallet: bitcoind.wallet });
  // The rate limit has its own test below; here it must not get in the way.
  app = await buildAnchorProxy({ rpc, token, broadcastsPerMinute: 10_000 });
});
afterAll(async () => {
  await app?.close();
  await bitcoind?.close();
});

const broadcast = (payload: unknown, headers: Record<string, string> = auth, target = app) =>
  target.inject({ method: "POST", url: "/anchor/broadcast", headers: { ...headers, "content-type": "application/json" }, payload: typeof payload === "string" ? payload : JSON.stringify(payload) });
const confirm = (txid: string, headers: Record<string, string> = auth) => app.inject({ url: `/anchor/confirm/${txid}`, headers });

describe("anchor proxy against a server speaking bitcoind's JSON-RPC", () => {
  it("broadcasts an OP_RETURN carrying the hash: create, fund, sign, send on the wallet's endpoint, and returns the txid", async () => {
    const before = bitcoind.requests.length;
    const balance = bitcoind.balanceSats();
    const r = await broadcast({ hash });
    expect(r.statusCode).toBe(200);
    const { txid, network, feeBtc } = r.json() as { txid: string; network: string; feeBtc: number };
    expect(network).toBe("regtest");
    expect(feeBtc).toBe(FAKE_FEE_SATS / 1e8);

    const sent = bitcoind.requests.slice(before);
    expect(sent.map((s) => s.method)).toEqual(["getblockchaininfo", "createrawtransaction", "fundrawtransaction", "signrawtransactionwithwallet", "sendrawtransaction"]);
    expect(new Set(sent.map((s) => s.path))).toEqual(new Set([`/wallet/${bitcoind.wallet}`]));
    expect(sent[1]!.params).toEqual([[], [{ data: "454331" + hash }]]);
    expect(sent[1]!.params).toEqual([[], [{ data: anchorPayloadHex(hash) }]]);
    // Each step hands on exactly what the one before returned.
    expect(sent[2]!.params).toEqual([sent[1]!.result]);
    expect(sent[3]!.params).toEqual([(sent[2]!.result as { hex: string }).hex]);
    expect(sent[4]!.params).toEqual([(sent[3]!.result as { hex: string }).hex]);
    expect(sent[4]!.result).toBe(txid);
    const signedHex = sent[4]!.params[0] as string;
    // The txid is bitcoind's: double SHA-256 of the signed bytes, reversed.
    expect(txidOfHex(signedHex)).toBe(txid);
    expect(bitcoind.balanceSats()).toBe(balance - FAKE_FEE_SATS);
  });

  it("confirms: the payload hash read from the OP_RETURN is the checkpoint's, and confirmations rise as blocks are mined", async () => {
    const { txid } = (await broadcast({ hash })).json() as { txid: string };
    const pending = await confirm(txid);
    expect(pending.statusCode).toBe(200);
    expect(pending.json()).toEqual({ txid, confirmations: 0, payloadHash: hash });
    expect(bitcoind.requests.at(-1)).toMatchObject({ method: "getrawtransaction", params: [txid, true] });

    bitcoind.mine(1);
    const mined = (await confirm(txid)).json() as { confirmations: number; blockhash: string; payloadHash: string };
    expect(mined).toMatchObject({ txid, confirmations: 1, payloadHash: hash });
    expect(mined.blockhash).toMatch(/^[0-9a-f]{64}$/);
    bitcoind.mine(5);
    expect((await confirm(txid)).json()).toEqual({ ...mined, confirmations: 6 });
  });

  it("answers 404 for a transaction bitcoind does not know", async () => {
    const r = await confirm("ab".repeat(32));
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ error: "unknown_transaction", message: expect.stringContaining("No such mempool or blockchain transaction") });
  });

  it("answers 400 for bad input and calls bitcoind not at all", async () => {
    const before = bitcoind.requests.length;
    for (const payload of [{}, { hash: "xyz" }, { hash: hash.toUpperCase() }, { hash: hash + "00" }, { hash: 42 }, "{not json", "[]"]) {
      const r = await broadcast(payload);
      expect({ payload, status: r.statusCode }).toEqual({ payload, status: 400 });
      expect((r.json() as { message: string }).message.length).toBeGreaterThan(0);
    }
    for (const txid of ["nothex", "AB".repeat(32), "ab".repeat(31)]) expect((await confirm(txid)).statusCode).toBe(400);
    expect((await broadcast({ hash: "a".repeat(2000) })).statusCode).toBe(413);
    expect(bitcoind.requests.length).toBe(before);
  });

  it("answers 401 without the right bearer token, on every route, and calls bitcoind not at all", async () => {
    const before = bitcoind.requests.length;
    const wrongHeaders: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-of-some-length" }, { authorization: token }, { authorization: `Basic ${token}` }];
    for (const headers of wrongHeaders) {
      expect((await broadcast({ hash }, headers)).statusCode).toBe(401);
      expect((await confirm("ab".repeat(32), headers)).statusCode).toBe(401);
      expect((await app.inject({ url: "/health", headers })).statusCode).toBe(401);
    }
    expect(bitcoind.requests.length).toBe(before);
  });

  it("answers 502 naming bitcoind's reason when it refuses: insufficient funds, a rejected transaction", async () => {
    const balance = bitcoind.balanceSats();
    bitcoind.setBalance(FAKE_FEE_SATS - 1);
    const poor = await broadcast({ hash });
    expect(poor.statusCode).toBe(502);
    expect(poor.json()).toEqual({
      error: "bitcoind_refused",
      method: "fundrawtransaction",
      code: -4,
      message: "bitcoind refused fundrawtransaction: Insufficient funds (code -4)",
    });
    bitcoind.setBalance(balance);

    bitcoind.refuse("sendrawtransaction", { code: -26, message: "min relay fee not met" });
    const rejected = await broadcast({ hash });
    bitcoind.refuse("sendrawtransaction", undefined);
    expect(rejected.statusCode).toBe(502);
    expect(rejected.json()).toMatchObject({ method: "sendrawtransaction", code: -26, message: expect.stringContaining("min relay fee not met") });
    expect((await broadcast({ hash })).statusCode).toBe(200);
  });

  it("answers 503 while bitcoind is offline, says so on /health, and works again when it is back", async () => {
    await bitcoind.goOffline();
    try {
      const r = await broadcast({ hash });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ error: "bitcoind_unreachable", message: expect.stringMatching(/^bitcoind not reachable at http:\/\/127\.0\.0\.1:\d+\/wallet\/anchors: (connect ECONNREFUSED|other side closed)/) });
      expect((await confirm("ab".repeat(32))).statusCode).toBe(503);
      expect((await app.inject({ url: "/health", headers: auth })).json()).toMatchObject({ ok: false, reachable: false, message: expect.stringContaining("not reachable") });
    } finally {
      await bitcoind.comeBack();
    }
    expect((await broadcast({ hash })).statusCode).toBe(200);
  });

  it("reports the chain and the wallet's balance on /health", async () => {
    const r = await app.inject({ url: "/health", headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: true, reachable: true, chain: "regtest", blocks: bitcoind.height(), balanceBtc: bitcoind.balanceSats() / 1e8 });
  });

  it("limits broadcasts to 10 a window: the 11th within it gets 429, and after the window it goes through", async () => {
    // A 3 s window stands in for the minute, so the test need not wait one.
    const limited = await buildAnchorProxy({ rpc, token, rateWindowMs: 3_000 });
    try {
      for (let i = 1; i <= 10; i++) {
        const r = await broadcast({ hash }, auth, limited);
        expect({ i, status: r.statusCode }).toEqual({ i, status: 200 });
        expect(r.headers["x-ratelimit-remaining"]).toBe(String(10 - i));
      }
      const before = bitcoind.requests.length;
      const eleventh = await broadcast({ hash }, auth, limited);
      expect(eleventh.statusCode).toBe(429);
      expect(eleventh.json()).toMatchObject({ error: "rate_limited", message: expect.stringContaining("at most 10 broadcasts per 3 s") });
      expect(Number(eleventh.headers["retry-after"])).toBeGreaterThan(0);
      expect(bitcoind.requests.length).toBe(before);
      // Confirmations are not limited.
      expect((await limited.inject({ url: `/anchor/confirm/${"ab".repeat(32)}`, headers: auth })).statusCode).toBe(404);
      await new Promise((r) => setTimeout(r, 3_100));
      expect((await broadcast({ hash }, auth, limited)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("sends one broadcast at a time, so concurrent broadcasts never fund from the same coin", async () => {
    const hashes = ["1", "2", "3"].map((n) => createHash("sha256").update(n).digest("hex"));
    const replies = await Promise.all(hashes.map((h) => broadcast({ hash: h })));
    expect(replies.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    for (const [i, r] of replies.entries()) expect((await confirm((r.json() as { txid: string }).txid)).json()).toMatchObject({ payloadHash: hashes[i] });
  });
});

describe("bitcoind JSON-RPC client", () => {
  it("reads the credentials from bitcoind's cookie file, at each call", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ec-cookie-"));
    const cookieFile = join(dir, ".cookie");
    const cookied = await startFakeBitcoind({ user: "__cookie__", password: "first" });
    try {
      await writeFile(cookieFile, "__cookie__:first\n");
      const client = bitcoinRpc({ url: cookied.url, auth: { cookieFile } });
      expect((await client.getBlockchainInfo()).chain).toBe("regtest");
      expect(cookied.requests.at(-1)).toMatchObject({ path: "/", method: "getblockchaininfo", params: [] });
      await writeFile(cookieFile, "__cookie__:changed\n");
      await expect(client.getBalance()).rejects.toMatchObject({ name: "BitcoinRpcError", httpStatus: 401, message: "bitcoind refused getbalance: wrong RPC user/password or cookie (HTTP 401)" });
      await rm(cookieFile);
      const missing = await client.getBalance().catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(BitcoindUnreachableError);
      expect((missing as Error).message).toMatch(/cannot read cookie file .*ENOENT.*is bitcoind running\?/);
    } finally {
      await cookied.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("turns bitcoind's error replies into typed errors naming the method, code and message", async () => {
    const unknown = await rpc.call("nosuchmethod", [], z.unknown()).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(BitcoinRpcError);
    expect(unknown).toMatchObject({ method: "nosuchmethod", code: -32601, httpStatus: 404, rpcMessage: "Method not found" });

    const otherWallet = bitcoinRpc({ url: bitcoind.url, auth: { user: bitcoind.user, password: bitcoind.password }, wallet: "nope" });
    await expect(otherWallet.getBalance()).rejects.toMatchObject({ method: "getbalance", code: -18, message: "bitcoind refused getbalance: Requested wallet does not exist or is not loaded (code -18)" });

    await expect(rpc.sendRawTransaction("00")).rejects.toMatchObject({ method: "sendrawtransaction", code: -22, rpcMessage: "TX decode failed" });
    // A result of the wrong shape is refused too, never passed on.
    await expect(rpc.call("getbalance", [], z.string())).rejects.toMatchObject({ method: "getbalance", code: undefined, message: expect.stringContaining("unexpected result") });
  });

  it("says bitcoind is not reachable when nothing listens there", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = await bitcoinRpc({ url, auth: { user: "u", password: "p" } }).getBlockchainInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BitcoindUnreachableError);
    expect((err as Error).message).toMatch(new RegExp(`^bitcoind not reachable at ${url}: connect ECONNREFUSED 127.0.0.1:\\d+$`));
  });
});
