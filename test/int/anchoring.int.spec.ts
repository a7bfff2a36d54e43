import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bitcoinRpc, type BitcoinRpc } from "../../src/adapters/bitcoin/rpc.js";
import { checkAnchor, proxyBroadcaster, startAnchoring, type Anchoring, type AnchoringOptions, type CheckpointRef } from "../../src/adapters/ledger/anchoring.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import type { CheckpointAnchored, CheckpointAnchorFailed } from "../../src/domain/ledger/anchor.js";
import { buildAnchorProxy } from "../../src/gateways/anchor/app.js";
import { startFakeBitcoind, type FakeBitcoind } from "../support/fakeBitcoind.js";

const token = "anchoring-loop-test-token";
const hashOf = (label: string) => createHash("sha256").update(label).digest("hex");

let bitcoind: FakeBitcoind;
let rpc: BitcoinRpc;
let proxy: FastifyInstance;
let proxyUrl: string;

beforeAll(async () => {
  bitcoind = await startFakeBitcoind();
  rpc = bitcoinRpc({ url: bitcoind.url, auth: { user: bitcoind.user, password: bitcoind.password }, wallet: bitcoind.wallet });
  // The retries below outnumber 10 a minute; the limit itself is tested in anchorProxy.int.spec.ts.
  proxy = await buildAnchorProxy({ rpc, token, broadcastsPerMinute: 1_000 });
  await proxy.listen({ host: "127.0.0.1", port: 0 });
  proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await proxy?.close();
  await bitcoind?.close();
});

/** An in-memory ledger whose anchoring goes through the real proxy to the fake bitcoind. */
function ledger() {
  const checkpoints: CheckpointRef[] = [];
  const anchors: CheckpointAnchored[] = [];
  const failures: CheckpointAnchorFailed[] = [];
  const options: AnchoringOptions = {
    intervalMs: 3_600_000,
    latestCheckpoint: async () => checkpoints.at(-1),
    lastAnchored: async () => anchors.at(-1)?.checkpointSize,
    broadcast: proxyBroadcaster(proxyUrl, token),
    record: async (anchor) => void anchors.push(anchor),
    reportFailure: async (failure) => void failures.push(failure),
    log: { info: () => {}, warn: () => {}, error: () => {} },
  };
  const checkpoint = (size: number) => {
    const c = { size, hash: hashOf(`checkpoint ${size}`) };
    checkpoints.push(c);
    return c;
  };
  return { anchors, failures, options, checkpoint };
}

const sends = () => bitcoind.requests.filter((r) => r.method === "sendrawtransaction" && r.error === undefined).length;

describe("anchoring checkpoints through the anchor proxy into bitcoind", () => {
  let loop: Anchoring | undefined;
  afterAll(async () => {
    await loop?.stop();
  });

  it("anchors each new checkpoint once, even when passes overlap, and the audit finds its hash on chain", async () => {
    const l = ledger();
    const first = l.checkpoint(100);
    const sent = sends();
    loop = startAnchoring(l.options);
    await loop.runOnce();
    expect(l.anchors).toEqual([{ checkpointSize: 100, checkpointHash: first.hash, txid: expect.stringMatching(/^[0-9a-f]{64}$/), network: "regtest", anchoredAt: expect.any(String) }]);
    expect(await loop.runOnce()).toEqual({ status: "upToDate" });

    const second = l.checkpoint(250);
    const outcomes = await Promise.all([loop.runOnce(), loop.runOnce(), loop.runOnce()]);
    expect(outcomes.every((o) => o === outcomes[0])).toBe(true);
    expect(l.anchors.map((a) => [a.checkpointSize, a.checkpointHash])).toEqual([
      [100, first.hash],
      [250, second.hash],
    ]);
    expect(sends() - sent).toBe(2);

    for (const anchor of l.anchors) expect(await checkAnchor(rpc, anchor)).toEqual({ status: "ok", confirmations: 0 });
    bitcoind.mine(3);
    expect(await checkAnchor(rpc, l.anchors[0]!)).toEqual({ status: "ok", confirmations: 3, blockhash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await loop.stop();
    expect(l.failures).toEqual([]);
  });

  it("when bitcoind is offline the failure is reported and retried; the first tick after it is back anchors the same checkpoint", async () => {
    const l = ledger();
    await bitcoind.goOffline();
    let back = false;
    try {
      loop = startAnchoring({ ...l.options, intervalMs: 400, retryBaseMs: 50 });
      const pending = l.checkpoint(7);
      await vi.waitFor(() => expect(l.failures.length).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 20 });
      expect(l.anchors).toEqual([]);
      expect(l.failures[0]).toMatchObject({ checkpointSize: 7, checkpointHash: pending.hash, attempt: 1 });
      expect(l.failures[0]!.reason).toMatch(/^anchor proxy refused the broadcast \(HTTP 503\) bitcoind_unreachable: bitcoind not reachable at /);
      expect(l.failures.slice(0, 3).map((f) => f.attempt)).toEqual([1, 2, 3]);

      await bitcoind.comeBack();
      back = true;
      await vi.waitFor(() => expect(l.anchors).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect(l.anchors[0]).toMatchObject({ checkpointSize: 7, checkpointHash: pending.hash });
      expect(await checkAnchor(rpc, l.anchors[0]!)).toMatchObject({ status: "ok" });
      const reported = l.failures.length;
      await loop.stop();
      // Stopped: no more passes, no more calls.
      const calls = bitcoind.requests.length;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(bitcoind.requests.length).toBe(calls);
      expect(l.failures).toHaveLength(reported);
      expect(l.anchors).toHaveLength(1);
    } finally {
      if (!back) await bitcoind.comeBack();
    }
  });

  it("reports a refusal by bitcoind (insufficient funds) with its reason, and anchors once the wallet is funded", async () => {
    const l = ledger();
    const balance = bitcoind.balanceSats();
    bitcoind.setBalance(0);
    loop = startAnchoring(l.options);
    l.checkpoint(9);
    const failed = await loop.runOnce();
    expect(failed).toMatchObject({ status: "failed", failure: { checkpointSize: 9, attempt: 1 } });
    expect(l.failures.at(-1)!.reason).toBe("anchor proxy refused the broadcast (HTTP 502) bitcoind_refused: bitcoind refused fundrawtransaction: Insufficient funds (code -4)");
    bitcoind.setBalance(balance);
    expect(await loop.runOnce()).toMatchObject({ status: "anchored", anchor: { checkpointSize: 9 } });
    await loop.stop();
  });

  it("a wrong token or an unreachable proxy is a failure naming it, not a lost checkpoint", async () => {
    const wrong = proxyBroadcaster(proxyUrl, "not-the-token-at-all");
    await expect(wrong(hashOf("x"))).rejects.toMatchObject({ name: "AnchorBroadcastError", status: 401, message: expect.stringContaining("HTTP 401") });
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    await expect(proxyBroadcaster(nowhere, token)(hashOf("x"))).rejects.toMatchObject({ status: undefined, message: expect.stringMatching(new RegExp(`^anchor proxy not reachable at ${nowhere}: `)) });
  });
});

describe("checkAnchor, for the audit", () => {
  it("detects a transaction whose OP_RETURN carries another hash", async () => {
    const claimed = hashOf("checkpoint the record claims");
    const { txid } = await proxyBroadcaster(proxyUrl, token)(hashOf("what was really sent"));
    const forged: CheckpointAnchored = { checkpointSize: 12, checkpointHash: claimed, txid, network: "regtest", anchoredAt: new Date().toISOString() };
    expect(await checkAnchor(rpc, forged)).toEqual({ status: "mismatch", found: hashOf("what was really sent") });
  });

  it("detects an anchor record naming a transaction bitcoind never saw (anchored without calling Bitcoin)", async () => {
    const invented: CheckpointAnchored = { checkpointSize: 12, checkpointHash: hashOf("c"), txid: "cd".repeat(32), network: "regtest", anchoredAt: new Date().toISOString() };
    expect(await checkAnchor(rpc, invented)).toMatchObject({ status: "missing", reason: expect.stringContaining("No such mempool or blockchain transaction") });
  });

  it("says it could not check when bitcoind is unreachable or on another chain", async () => {
    const { txid } = await proxyBroadcaster(proxyUrl, token)(hashOf("c"));
    const anchor: CheckpointAnchored = { checkpointSize: 12, checkpointHash: hashOf("c"), txid, network: "regtest", anchoredAt: new Date().toISOString() };
    expect(await checkAnchor(rpc, { ...anchor, network: "main" })).toEqual({ status: "unreachable", reason: `${rpc.endpoint} serves regtest; the anchor is on main` });
    await bitcoind.goOffline();
    try {
      expect(await checkAnchor(rpc, anchor)).toMatchObject({ status: "unreachable", reason: expect.stringContaining("bitcoind not reachable at") });
    } finally {
      await bitcoind.comeBack();
    }
    expect(await checkAnchor(rpc, anchor)).toMatchObject({ status: "ok" });
  });
});
