import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lndProvider } from "../../src/adapters/lightning/lnd.js";
import { coordinatorAccountOf } from "../../src/app/credits/nodeAccounts.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { settlementOf } from "../../src/domain/economy/conversion.js";
import { startFakeLnd, type FakeLnd } from "../support/fakeLnd.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

/**
 * A node whose provider is the real LND adapter against a server speaking LND's REST API, with
 * invoices payable for 3 s and its intent poller asking every 200 ms: the poller settles and
 * expires here, without anyone calling confirm. The fake holds the money: only what it says is
 * paid mints.
 */
const TTL_MS = 3_000;
let lnd: FakeLnd;
let t: TestNode;
let store: EventStore;

beforeAll(async () => {
  lnd = await startFakeLnd();
  t = await startTestNode(
    { worker: false, priceIntervalMs: 24 * 3600_000, intentPollMs: 200, intentTtlMs: TTL_MS, epochVoting: false },
    { lightning: lndProvider({ restUrl: lnd.url, macaroonHex: lnd.macaroonHex }) },
  );
  store = await createEventStore(await t.nats.connect());
}, 60_000);
afterAll(async () => {
  await t?.close();
  await lnd?.close();
});

async function cp(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, t.node.controlPlaneUrl), {
    method,
    headers: { authorization: `Bearer ${t.node.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every credit movement of an account once the balances projection has read all of EC_CREDITS. */
async function movementsOf(accountId: string): Promise<{ type: string; amount: number; reason: string }[]> {
  const last = await store.lastSeq("EC_CREDITS");
  await eventually("the balances projection", async () => {
    const r = await t.db.pool.query("SELECT last_seq FROM projection_checkpoints WHERE projection = 'credit_balances' AND stream = 'EC_CREDITS'");
    return Number(r.rows[0]?.last_seq ?? 0) >= last ? true : undefined;
  });
  return (await t.db.pool.query("SELECT type, amount, reason FROM credit_transactions WHERE account_id = $1 ORDER BY seq", [accountId])).rows;
}

const create = async (accountId: string, amountSats: number) => {
  const r = await cp("POST", "/economy/payments/intents", { accountId, amountSats });
  expect(r.status).toBe(201);
  return r.body as { intentId: string; paymentHash: string; satsPerCredit: number; bolt11: string };
};
const confirm = (intentId: string, body?: unknown) => cp("POST", `/economy/payments/intents/${intentId}/confirm`, body);

describe("payment intents on LND", () => {
  it("makes the invoice on LND (its base64 r_hash as the hex payment hash), not labelled development", async () => {
    const intent = await create("carol", 1_500);
    expect(intent).toMatchObject({ provider: "lnd", development: false, notice: null, status: "open" });
    expect(intent.paymentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(intent.bolt11).toMatch(/^lnbcrt/);
    const asked = lnd.requests.find((r) => r.method === "POST" && r.path === "/v1/invoices")!;
    expect(asked.body).toMatchObject({ value: "1500", expiry: String(TTL_MS / 1000) });
  });

  it("mints nothing before the invoice is paid; once paid the poller settles it unasked, and it mints once however often it is confirmed", async () => {
    const intent = await create("dave", 3_000);
    expect((await confirm(intent.intentId)).body).toMatchObject({ intent: { status: "open" }, provider: { said: "open" } });
    expect(await movementsOf("dave")).toEqual([]);

    // The caller may know the preimage (a wallet shows it once paid): it still proves nothing here.
    const before = await store.lastSeq("EC_ECONOMY");
    const withPreimage = await confirm(intent.intentId, { preimage: "ab".repeat(32), paymentHash: intent.paymentHash });
    expect(withPreimage.status).toBe(400);
    expect(await store.lastSeq("EC_ECONOMY")).toBe(before);
    expect(await movementsOf("dave")).toEqual([]);

    lnd.settle(intent.paymentHash);
    const expected = settlementOf(3_000, intent.satsPerCredit);
    await eventually("the poller to settle the intent", async () => {
      const r = await cp("GET", `/economy/payments/intents/${intent.intentId}`);
      return r.body.status === "settled" ? true : undefined;
    });
    expect(await movementsOf("dave")).toEqual([{ type: "credits.earned", amount: expected.mintedMillicredits, reason: "lightning_topup" }]);

    const answers = await Promise.all([confirm(intent.intentId), confirm(intent.intentId)]);
    answers.push(await confirm(intent.intentId));
    for (const a of answers) expect(a.body).toMatchObject({ intent: { status: "settled", settlement: { amountPaidSats: 3_000, ...expected } }, provider: { said: "settled" } });
    expect(await movementsOf("dave")).toEqual([{ type: "credits.earned", amount: expected.mintedMillicredits, reason: "lightning_topup" }]);
    expect((await movementsOf(coordinatorAccountOf(t.node.publicKey))).filter((m) => m.reason === "lightning_fee")).toEqual([{ type: "credits.earned", amount: expected.feeMillicredits, reason: "lightning_fee" }]);
  });

  it("expires an unpaid intent by its poller once LND says so, and a payment after the expiry mints nothing", async () => {
    const intent = await create("erin", 2_000);
    await eventually("the poller to expire the intent", async () => {
      const r = await cp("GET", `/economy/payments/intents/${intent.intentId}`);
      return r.body.status === "expired" ? true : undefined;
    });
    // LND writes times in whole seconds: a second past the expiry is past it whatever the rounding.
    await new Promise((r) => setTimeout(r, 1_100));
    lnd.settle(intent.paymentHash);
    const late = await confirm(intent.intentId);
    expect(late).toMatchObject({ status: 409, body: { error: "paid_after_expiry" } });
    expect(await movementsOf("erin")).toEqual([]);
    expect((await cp("GET", `/economy/payments/intents/${intent.intentId}`)).body).toMatchObject({ status: "expired", settlement: null });
  });

  it("answers 404 for an intent nobody made", async () => {
    expect((await confirm("no-such-intent")).status).toBe(404);
    expect((await cp("GET", "/economy/payments/intents/no-such-intent")).status).toBe(404);
  });
});
