import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { commandHandlers } from "../../src/app/commandHandlers.js";
import { bleSync } from "../../src/app/credits/bleSync.js";
import { bleAmount, bleTransactionText, type BleTransaction } from "../../src/domain/credits/bleSync.js";
import { creditSubject } from "../../src/domain/credits/commands.js";
import { pythonCapabilities } from "../support/agents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { controlPlane, signedPost } from "../support/signedAgent.js";

/**
 * POST /credits/ble-sync: two phones made credit transactions offline (one asked, the other
 * worked); either syncs them later. Each counts once, a batch that does not hold is refused whole.
 */
let t: TestNode;
let store: EventStore;
const phoneA = newSigner();
const phoneB = newSigner();
const stranger = newSigner();
const admin = (method: string, path: string, body?: unknown) => controlPlane(t.node.controlPlaneUrl, t.node.adminToken, method, path, body);
const sync = (signer: Ed25519Signer, transactions: unknown[]) => signedPost(t.node.coordinatorUrl, signer, "/credits/ble-sync", { transactions });
const available = async (account: string) => Number((await t.db.pool.query("SELECT available FROM credit_accounts WHERE account_id = $1", [account])).rows[0]?.available ?? 0);

function tx(requester: Ed25519Signer, provider: string, cpuSeconds: number, model = "qwen2.5-coder:7b"): BleTransaction {
  const unsigned = { txId: randomUUID(), requester: requester.publicKey, provider, cpuSeconds, model, at: new Date().toISOString() };
  return { ...unsigned, signature: requester.sign(new TextEncoder().encode(bleTransactionText(unsigned))) };
}

beforeAll(async () => {
  t = await startTestNode({ worker: false });
  for (const phone of [phoneA, phoneB]) expect(await signedPost(t.node.coordinatorUrl, phone, "/register", { capabilities: pythonCapabilities })).toMatchObject({ status: 200 });
  expect((await admin("POST", `/credits/${phoneA.publicKey}/faucet`, { amount: 50_000 })).status).toBe(201);
  await eventually("the phones and the grant projected", async () =>
    (await available(phoneA.publicKey)) === 50_000 && (await t.db.pool.query("SELECT 1 FROM agents")).rowCount === 2 ? true : undefined,
  );
  store = await createEventStore(await t.nats.connect("ble-test"));
}, 120_000);
afterAll(async () => t?.close());

describe("offline BLE credit transactions", () => {
  it("a batch moves credits from the requester to the provider once, however many times it is synced", async () => {
    const batch = [tx(phoneA, phoneB.publicKey, 2), tx(phoneA, phoneB.publicKey, 3.5, "phi3:3.8b")];
    const moved = bleAmount(batch[0]!) + bleAmount(batch[1]!);
    expect(moved).toBe(2_000 + 2_450);
    expect(await sync(phoneB, batch)).toMatchObject({ status: 200, body: { accepted: 2, repeats: 0, movedMillicredits: moved } });
    await eventually("the balances", async () => ((await available(phoneB.publicKey)) === moved ? true : undefined));
    expect(await available(phoneA.publicKey)).toBe(50_000 - moved);

    const before = await store.lastSeq("EC_CREDITS");
    expect(await sync(phoneA, batch)).toMatchObject({ status: 200, body: { accepted: 0, repeats: 2, movedMillicredits: 0 } });
    expect(await store.lastSeq("EC_CREDITS")).toBe(before);
  });

  it("refuses the whole batch, appending nothing, when a signature, a device or a balance does not hold", async () => {
    const good = tx(phoneA, phoneB.publicKey, 1);
    const forged = { ...tx(phoneA, phoneB.publicKey, 1), cpuSeconds: 900 };
    const before = await store.lastSeq("EC_CREDITS");
    const cases: [string, unknown[], number, string][] = [
      ["a signature over other numbers", [good, forged], 400, "bad_signature"],
      ["signed by the provider, not the payer", [{ ...tx(phoneB, phoneB.publicKey, 1), requester: phoneA.publicKey }], 400, "bad_signature"],
      ["an unknown device", [good, tx(stranger, phoneB.publicKey, 1)], 403, "unknown_device"],
      ["more than the payer holds", [good, tx(phoneA, phoneB.publicKey, 3_600)], 402, "insufficient_credits"],
      ["the same transaction twice", [good, good], 400, "repeated_transaction"],
      ["a device paying itself", [tx(phoneA, phoneA.publicKey, 1)], 400, "self_payment"],
    ];
    for (const [name, batch, status, error] of cases) {
      const r = await sync(phoneA, batch);
      expect({ name, status: r.status, error: r.body.error }).toEqual({ name, status, error });
    }
    expect(await store.lastSeq("EC_CREDITS")).toBe(before);
    // Not a signed agent request at all: refused before the body is read.
    const unsigned = await fetch(new URL("/credits/ble-sync", t.node.coordinatorUrl), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ transactions: [good] }) });
    expect(unsigned.status).toBe(401);
  });

  it("a sync cut short after the payer's spend is completed by the next: the provider earns, the payer is not charged twice", async () => {
    const cut = tx(phoneA, phoneB.publicKey, 1.5);
    const amount = bleAmount(cut);
    const handlers = commandHandlers({ store, sealer: inlineSealer(newSigner()) });
    // What the first sync did before it died: the spend, under the transaction's own command id.
    await handlers.account(creditSubject(phoneA.publicKey), { kind: "spend", amount, reason: "BLE work", ref: `ble:${cut.txId}` }, { commandId: `ble-pay:${cut.txId}`, now: new Date() });
    const a = await eventually("the spend projected", async () => {
      const v = await available(phoneA.publicKey);
      return (await t.db.pool.query("SELECT 1 FROM credit_transactions WHERE ref = $1", [`ble:${cut.txId}`])).rowCount === 1 ? v : undefined;
    });
    const b = await available(phoneB.publicKey);
    const answer = await bleSync({ pool: t.db.pool, store, handleCredit: handlers.account, now: () => new Date() })([cut]);
    expect(answer).toEqual({ accepted: 0, repeats: 1, movedMillicredits: 0 });
    await eventually("the provider paid", async () => ((await available(phoneB.publicKey)) === b + amount ? true : undefined));
    expect(await available(phoneA.publicKey)).toBe(a);
  });
});
