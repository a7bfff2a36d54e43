import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bitcoinRpc, type BitcoinRpc } from "../../src/adapters/bitcoin/rpc.js";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { cli } from "../support/cli.js";
import { newSigner } from "../support/events.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditAnchors, type CheckedAnchor } from "../../src/adapters/ledger/auditAnchors.js";
import { followLedger } from "../../src/adapters/ledger/auditFollow.js";
import { commitCheckerPool, type CommitChecker } from "../../src/adapters/ledger/commitChecker.js";
import { verifyOrderingChain } from "../../src/adapters/ledger/verifyOrderingChain.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { buildAnchorProxy } from "../../src/gateways/anchor/app.js";
import { startFakeBitcoind, type FakeBitcoind } from "../support/fakeBitcoind.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

const proxyToken = "anchor-proxy-token-0123456789";

/** A node anchoring its checkpoints through the anchor proxy to bitcoind (a JSON-RPC stand-in). */
describe("checkpoints anchored to Bitcoin", () => {
  let bitcoind: FakeBitcoind;
  let rpc: BitcoinRpc;
  let proxy: FastifyInstance;
  let t: TestNode;
  let store: EventStore;
  let checker: CommitChecker;
  beforeAll(async () => {
    bitcoind = await startFakeBitcoind();
    rpc = bitcoinRpc({ url: bitcoind.url, auth: { user: bitcoind.user, password: bitcoind.password }, wallet: bitcoind.wallet });
    proxy = await buildAnchorProxy({ rpc, token: proxyToken, broadcastsPerMinute: 1_000 });
    const proxyUrl = await proxy.listen({ host: "127.0.0.1", port: 0 });
    t = await startTestNode({ worker: false, checkpointIntervalMs: 300, anchorProxyUrl: proxyUrl, anchorProxyToken: proxyToken, anchorIntervalMs: 500 });
    store = await createEventStore(await t.nats.connect("anchor-auditor"));
    checker = commitCheckerPool(2);
  }, 120_000);
  afterAll(async () => {
    await checker?.close();
    await t?.close();
    await proxy?.close();
    await bitcoind?.close();
  });

  const faucet = (account: string) =>
    fetch(new URL(`/credits/${account}/faucet`, t.node.controlPlaneUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${t.node.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ amount: 1_000 }),
    });

  it("anchors each new checkpoint's hash in an OP_RETURN output, and the audit finds it on chain", async () => {
    expect((await faucet("alice")).status).toBe(201);
    const audit = await eventually("an anchor bitcoind confirms", async () => {
      const a = await auditAnchors({ store, checker, rpc });
      return a.confirmed > 0 ? a : undefined;
    });
    expect(audit.issue).toBeUndefined();
    expect(audit.unchecked).toBeUndefined();
    expect(bitcoind.requests.map((r) => r.method)).toContain("sendrawtransaction");

    // The auditor's one call checks the ledger, then its anchors against bitcoind.
    const verdict = await verifyOrderingChain({ store, checker, rpc });
    expect(verdict).toMatchObject({ ok: true, anchors: { confirmed: audit.confirmed, networks: ["regtest"] } });
    expect(verdict.records).toBeGreaterThan(0);

    // The auditor's command checks the same, with bitcoind's address and credentials.
    const credentials = { BITCOIN_RPC_USER: bitcoind.user, BITCOIN_RPC_PASSWORD: bitcoind.password };
    const checked = await cli(["audit", "--nats-url", t.nats.url, "--no-progress", "--bitcoin-rpc", bitcoind.url], { env: credentials });
    expect(checked).toMatchObject({ code: 0, stdout: expect.stringMatching(/\nanchors: [1-9]\d* checkpoints? anchored, each naming a checkpoint of the ledger; ([1-9]\d*) of \1 transactions found carrying their checkpoint's hash \(regtest, bitcoind at http/) });
    const unchecked = await cli(["audit", "--nats-url", t.nats.url, "--no-progress"], { env: { BITCOIN_RPC_URL: "" } });
    expect(unchecked).toMatchObject({ code: 0, stdout: expect.stringMatching(/\nanchors: [1-9]\d* checkpoints? anchored, .*; no bitcoind RPC given: transactions not checked/) });
    expect(await cli(["audit", "--nats-url", t.nats.url, "--bitcoin-rpc", bitcoind.url], { env: { BITCOIN_RPC_USER: "only-a-user" } })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--bitcoin-rpc: bad bitcoind RPC configuration: .*BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD go together/s),
    });
  }, 60_000);

  it("when bitcoind is down the failure is reported as an event and the checkpoint is anchored once it is back", async () => {
    await bitcoind.goOffline();
    const before = (await auditAnchors({ store, checker })).anchors;
    expect((await faucet("bob")).status).toBe(201);
    await eventually("a reported failure", async () => ((await auditAnchors({ store, checker })).failuresReported > 0 ? true : undefined));
    await bitcoind.comeBack();
    const after = await eventually("the pending checkpoint anchored", async () => {
      const a = await auditAnchors({ store, checker, rpc });
      return a.anchors > before ? a : undefined;
    });
    expect(after.issue).toBeUndefined();
    expect(after.confirmed).toBe(after.anchors);
  }, 60_000);

  it("a following auditor checks the anchors once caught up, then each new one as it arrives", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ec-follow-anchors-"));
    const seen: CheckedAnchor[] = [];
    const stop = new AbortController();
    let caughtUp = false;
    const done = followLedger({ store, checker, rpc, stateFile: join(dir, "state.json"), signal: stop.signal, onCaughtUp: () => (caughtUp = true), onAnchor: (a) => seen.push(a) });
    try {
      const before = (await auditAnchors({ store, checker })).anchors;
      await eventually("the follower caught up, with the anchors so far", async () => (caughtUp && seen.length >= before ? true : undefined));
      expect((await faucet("carol")).status).toBe(201);
      const fresh = await eventually("a new anchor checked live", async () => seen.find((a) => a.seq > seen[before - 1]!.seq));
      expect(fresh).toMatchObject({ confirmed: true, anchor: { network: "regtest" } });
    } finally {
      stop.abort();
    }
    const result = await done;
    expect(result).toMatchObject({ ok: true, anchors: { anchors: seen.length, confirmed: seen.length } });
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("an anchor record naming a transaction bitcoind never saw is caught (the seed's fault)", async () => {
    const good = await auditAnchors({ store, checker, rpc });
    expect(good.issue).toBeUndefined();
    const real = (await anchorsIn(store))[0]!;
    const forged = sealEvent(newSigner(), { ...real, id: "forged-anchor", data: { ...real.data, txid: "ab".repeat(32) } });
    await store.append("ec.ledger.anchors", [forged], "any");
    const audit = await auditAnchors({ store, checker, rpc });
    expect(audit.issue).toMatchObject({ recordId: "forged-anchor", reason: expect.stringMatching(/^transaction abab.* is not on regtest/) });
    expect(await verifyOrderingChain({ store, checker, rpc })).toMatchObject({ ok: false, anchors: { issue: { recordId: "forged-anchor" } } });
    const dir = await mkdtemp(join(tmpdir(), "ec-follow-anchors-"));
    // A follower stops at it by itself: no signal is ever raised here.
    const followed = await followLedger({ store, checker, rpc, stateFile: join(dir, "state.json"), signal: new AbortController().signal });
    expect(followed).toMatchObject({ ok: false, anchors: { issue: { recordId: "forged-anchor", reason: expect.stringMatching(/is not on regtest/) } } });
    expect(followed.issue).toBeUndefined();
    await rm(dir, { recursive: true, force: true });
    const caught = await cli(["audit", "--nats-url", t.nats.url, "--no-progress", "--bitcoin-rpc", bitcoind.url], { env: { BITCOIN_RPC_USER: bitcoind.user, BITCOIN_RPC_PASSWORD: bitcoind.password } });
    expect(caught).toMatchObject({ code: 1, stdout: expect.stringMatching(/\nanchors: FAILED.*\nfirst bad anchor: ledger sequence \d+, anchor id forged-anchor: transaction (ab)+ is not on regtest/s) });
  }, 60_000);
});

async function anchorsIn(store: EventStore): Promise<EventEnvelope[]> {
  const out: EventEnvelope[] = [];
  const toSeq = await store.lastSeqOf("EC_LEDGER", "ec.ledger.anchors");
  for await (const c of store.read("EC_LEDGER", { subjects: "ec.ledger.anchors", toSeq })) {
    for (const e of JSON.parse(new TextDecoder().decode(c.data)) as EventEnvelope[]) if (e.type === "ledger.anchored") out.push(e);
  }
  return out;
}
