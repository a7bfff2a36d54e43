import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { mockProvider } from "../../src/adapters/lightning/mock.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { coordinatorAccountOf } from "../../src/app/credits/nodeAccounts.js";
import { runPrice } from "../../src/cli/price.js";
import { settlementOf } from "../../src/domain/economy/conversion.js";
import { epochAggregate, priceAggregate } from "../../src/domain/economy/context.js";
import { policyDocumentText } from "../../src/domain/economy/custody.js";
import { epochIdAt, epochStart } from "../../src/domain/economy/epochId.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { satsPerUnit } from "../../src/domain/economy/pricing.js";
import { eventRegistry } from "../../src/domain/events/registry.js";
import { replay } from "../../src/cli/replay.js";
import { economyProjector } from "../../src/projections/economy/economyProjector.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { snapshotTables } from "../support/tables.js";

/**
 * One node with the development Lightning provider (the test holds it, so it can pay an
 * invoice as a wallet would) and no poller to speak of (every settlement here is a confirm's):
 * prices, a mock top-up, issuance votes and custody policies through the control plane, and the
 * economy projection rebuilt by replay.
 */
const mock = mockProvider();
let t: TestNode;
let store: EventStore;

beforeAll(async () => {
  t = await startTestNode({ worker: false, priceIntervalMs: 24 * 3600_000, intentPollMs: 24 * 3600_000, epochVoting: false }, { lightning: mock });
  store = await createEventStore(await t.nats.connect());
}, 60_000);
afterAll(() => t?.close());

async function cp(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, t.node.controlPlaneUrl), {
    method,
    headers: { authorization: `Bearer ${t.node.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Waits until a projection has read everything `stream` holds now. */
async function projected(projection: string, stream: string): Promise<void> {
  const last = await store.lastSeq(stream);
  await eventually(`${projection} to read ${stream} to ${last}`, async () => {
    const r = await t.db.pool.query("SELECT last_seq FROM projection_checkpoints WHERE projection = $1 AND stream = $2", [projection, stream]);
    return Number(r.rows[0]?.last_seq ?? 0) >= last ? true : undefined;
  });
}

const earnings = async (accountId: string) =>
  (await t.db.pool.query("SELECT amount, reason, ref FROM credit_transactions WHERE account_id = $1 AND type = 'credits.earned' ORDER BY seq", [accountId])).rows as { amount: number; reason: string; ref: string }[];

describe("the economy on a node", () => {
  it("proposes its own price at start, signed with its key, and the network price is the median of the current proposals", async () => {
    const mine = await eventually("the node's proposals", async () => {
      const r = await cp("GET", `/economy/price/proposals?coordinatorId=${t.node.publicKey}`);
      return (r.body.proposals as unknown[]).length === 2 ? (r.body.proposals as { resourceClass: string; satsPerUnit: number; capacity: number }[]) : undefined;
    });
    // No agent at all: capacity 0 is the ceiling, four times the base.
    expect(mine.map((p) => [p.resourceClass, p.satsPerUnit, p.capacity]).sort()).toEqual([["cpu", 120, 0], ["gpu", 480, 0]]);

    // Three other coordinators propose, each under its own key.
    const others: [Ed25519Signer, { queued: number; agents: number; capacity: number }][] = [
      [newSigner(), { queued: 0, agents: 0, capacity: 10 }],
      [newSigner(), { queued: 0, agents: 1, capacity: 1 }],
      [newSigner(), { queued: 3, agents: 1, capacity: 1 }],
    ];
    for (const [signer, counts] of others) {
      const handle = commandHandler({ store, decider: priceAggregate.decider, registry: eventRegistry(...priceAggregate.events), sealer: inlineSealer(signer) });
      await handle(priceAggregate.subject(signer.publicKey), { kind: "propose", resourceClass: "cpu", ...counts, now: new Date() }, { now: new Date() });
    }
    await projected("economy", "EC_ECONOMY");
    const prices = [120, ...others.map(([, c]) => satsPerUnit({ resourceClass: "cpu", ...c }))].sort((a, b) => a - b);
    expect(prices).toEqual([21, 30, 62, 120]);
    const current = await cp("GET", "/economy/price/current");
    expect(current.status).toBe(200);
    // Four proposals of weight 1: the lower median is the second.
    expect(current.body).toMatchObject({ network: { cpu: { satsPerUnit: 30 }, gpu: { satsPerUnit: 480 } }, satsPerCredit: { value: 30, from: "network" }, node: { coordinatorId: t.node.publicKey } });
    expect((current.body.network as { cpu: { counted: string[] } }).cpu.counted).toHaveLength(4);

    const printed: string[] = [];
    await runPrice({ url: t.node.controlPlaneUrl, dataDir: t.dataDir, json: false }, (text) => printed.push(text));
    expect(printed.join("\n")).toMatch(/cpu\s+30 sats\s+\(median of 4 coordinators\)/);
    expect(printed.join("\n")).toContain(`this node's proposal (${t.node.publicKey})`);
  });

  it("labels an intent of the mock provider development; before payment confirm mints nothing, after it mints once, less the fee", async () => {
    const created = await cp("POST", "/economy/payments/intents", { accountId: "alice", amountSats: 3_000 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "open", provider: "mock", development: true, accountId: "alice", amountSats: 3_000, createdBy: t.node.publicKey });
    expect(created.body.notice).toMatch(/development only/);
    const { intentId, paymentHash, satsPerCredit } = created.body as { intentId: string; paymentHash: string; satsPerCredit: number };

    const unpaid = await cp("POST", `/economy/payments/intents/${intentId}/confirm`);
    expect(unpaid.body).toMatchObject({ intent: { status: "open", development: true }, provider: { said: "open" } });
    expect((unpaid.body.intent as { notice: string }).notice).toMatch(/development only/);

    // What a caller sends never counts: a preimage or a reference is refused, and nothing is appended.
    const before = await store.lastSeq("EC_ECONOMY");
    for (const body of [{ preimage: "00".repeat(32) }, { reference: "paid", settled: true }]) {
      const r = await cp("POST", `/economy/payments/intents/${intentId}/confirm`, body);
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/unrecognized key/i);
    }
    expect(await store.lastSeq("EC_ECONOMY")).toBe(before);

    mock.markPaid(paymentHash);
    const expected = settlementOf(3_000, satsPerCredit);
    for (let i = 0; i < 2; i++) {
      const paid = await cp("POST", `/economy/payments/intents/${intentId}/confirm`);
      expect(paid.status).toBe(200);
      expect(paid.body).toMatchObject({ intent: { status: "settled", settlement: { amountPaidSats: 3_000, ...expected } }, provider: { said: "settled" } });
    }
    await projected("credit_balances", "EC_CREDITS");
    expect(await earnings("alice")).toEqual([{ amount: expected.mintedMillicredits, reason: "lightning_topup", ref: expect.any(String) }]);
    expect((await earnings(coordinatorAccountOf(t.node.publicKey))).filter((e) => e.reason === "lightning_fee").map((e) => e.amount)).toEqual([expected.feeMillicredits]);
    const got = await cp("GET", `/economy/payments/intents/${intentId}`);
    expect(got.body).toMatchObject({ status: "settled", development: true, settlement: expected });
  });

  it("refuses a custody policy without its custodians' signatures, and shows this node's vote in the epoch's tally", async () => {
    const [k1, k2] = [newSigner(), newSigner()];
    const other = newSigner();
    const policy = { quorumThreshold: 1, custodians: [k1.publicKey, k2.publicKey], approvedCoordinators: [t.node.publicKey, other.publicKey], keyRotationDays: 90 };
    expect((await cp("POST", "/economy/issuance/quorum/vote")).body).toMatchObject({ error: "no_custody_policy" });

    const proposed = await cp("POST", "/economy/treasury/policies", { policyId: "treasury", policy });
    expect(proposed.status).toBe(201);
    const { documentText, version } = proposed.body as { documentText: string; version: number };
    expect(proposed.body.approvers).toEqual({ custodians: [k1.publicKey, k2.publicKey].sort(), threshold: 2 });
    expect(documentText).toBe(policyDocumentText("treasury", 1, { ...policy, custodians: [...policy.custodians].sort(), approvedCoordinators: [...policy.approvedCoordinators].sort() }));
    const sign = (k: Ed25519Signer) => ({ custodian: k.publicKey, signature: k.sign(new TextEncoder().encode(documentText)) });

    // The first policy needs every custodian it names: one of two is too few.
    const tooFew = await cp("POST", "/economy/treasury/policies/treasury/activate", { signatures: [sign(k1)] });
    expect(tooFew).toMatchObject({ status: 409, body: { error: "too_few_signatures" } });
    const stranger = await cp("POST", "/economy/treasury/policies/treasury/activate", { signatures: [sign(k1), sign(other)] });
    expect(stranger).toMatchObject({ status: 409, body: { error: "not_custodian" } });
    const activated = await cp("POST", "/economy/treasury/policies/treasury/activate", { signatures: [sign(k1), sign(k2)] });
    expect(activated).toMatchObject({ status: 200, body: { policyId: "treasury", version } });

    // The hour's contributions are its work earnings (a result's pay, ref lease:<id>): two in the last ended hour; a grant and a model charge are no work.
    const epochId = epochIdAt(new Date(Date.now() - 3_600_000));
    const inTheHour = new Date(epochStart(epochId).getTime() + 10 * 60_000);
    const credits = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
    const earned = [
      ["worker-a", 3_000, "result of subtask t-0", "lease:l-1"],
      ["worker-b", 1_000, "failure of subtask t-1", "lease:l-2"],
      ["worker-c", 5_000, "development grant", undefined],
      ["worker-d", 2_000, "model charge and fee of task t", "task:t"],
    ] as const;
    for (const [accountId, amount, reason, ref] of earned) {
      await credits(creditSubject(accountId), { kind: "earn", amount, reason, ...(ref ? { ref } : {}) }, { now: inTheHour });
    }
    await projected("credit_balances", "EC_CREDITS");

    const vote = await cp("POST", "/economy/issuance/quorum/vote", { epochId });
    expect(vote.status).toBe(201);
    expect(vote.body).toMatchObject({ epochId, coordinatorId: t.node.publicKey, final: false, events: ["epoch.voted"] });
    // No proposal was made in that hour: no demand, no agents, the floor of the load index and the base pool (10,000 credits a day).
    const hourly = Math.floor(10_000_000 / 24);
    const share = Math.floor((hourly * 5) / 100);
    const contributors = hourly - 2 * share;
    const coordinators = [t.node.publicKey, other.publicKey].map(coordinatorAccountOf).sort();
    expect(vote.body.record).toMatchObject({ demand: 0, cpuAgents: 0, gpuAgents: 0, issuedMillicredits: hourly });
    expect((vote.body.record as { allocations: unknown[] }).allocations).toEqual([
      { accountId: "worker-a", role: "contributor", millicredits: (contributors * 3) / 4 },
      { accountId: "worker-b", role: "contributor", millicredits: contributors / 4 },
      ...coordinators.map((accountId, i) => ({ accountId, role: "coordinator", millicredits: Math.floor(share / 2) + (i < share % 2 ? 1 : 0) })),
      { accountId: "treasury-reserve", role: "reserve", millicredits: share },
    ]);
    expect((await cp("POST", "/economy/issuance/quorum/vote", { epochId })).body).toMatchObject({ error: "already_voted" });

    await projected("economy", "EC_ECONOMY");
    const tally = await cp("GET", `/economy/issuance/quorum/${epochId}`);
    expect(tally.body).toMatchObject({ epoch: { epochId, status: "open", voteCount: 1 }, quorum: { approved: 2, needed: 2 } });
    expect((tally.body.records as { recordHash: string; signers: string[] }[]).map((r) => [r.recordHash, r.signers])).toEqual([[vote.body.recordHash, [t.node.publicKey]]]);
    expect((await cp("GET", "/economy/issuance/quorum/2020-01-01T00")).status).toBe(404);

    const treasury = await cp("GET", "/economy/treasury");
    expect(treasury.body).toMatchObject({ votingPolicyId: "treasury", policies: [{ policyId: "treasury", active: { version: 1 }, pending: null }] });

    // The other approved coordinator signs the same record: the quorum is reached, the epoch is
    // final, and every allocation is minted to its account once, pointing at the finalization.
    const otherVotes = commandHandler({ store, decider: epochAggregate.decider, registry: eventRegistry(...epochAggregate.events), sealer: inlineSealer(other) });
    const done = await otherVotes(epochAggregate.subject(epochId), { kind: "vote", coordinatorId: other.publicKey, record: vote.body.record as never, approvedCoordinators: policy.approvedCoordinators, now: new Date() }, { now: new Date() });
    expect(done.events.map((e) => e.type)).toEqual(["epoch.voted", "epoch.finalized"]);
    const allocations = (vote.body.record as { allocations: { accountId: string; millicredits: number }[] }).allocations;
    const paid = await eventually("the final epoch paid out", async () => {
      const rows = (await t.db.pool.query<{ account_id: string; amount: string; cause_event_id: string }>("SELECT account_id, amount, cause_event_id FROM credit_transactions WHERE ref = $1", [`epoch:${epochId}`])).rows;
      return rows.length === allocations.length ? rows : undefined;
    });
    expect(paid.map((r) => [r.account_id, Number(r.amount)]).sort()).toEqual(allocations.map((a) => [a.accountId, a.millicredits]).sort());
    expect(paid.reduce((n, r) => n + Number(r.amount), 0)).toBe(hourly);
    expect(new Set(paid.map((r) => r.cause_event_id))).toEqual(new Set([done.events[1]!.id]));
  });

  it("rebuilds the economy projection by replay, row for row as the live one", async () => {
    await projected("economy", "EC_ECONOMY");
    const before = await snapshotTables(t.db.pool, economyProjector.tables);
    expect(before.economy_price_proposals).toHaveLength(5);
    const [result] = await replay({ projection: "economy", natsUrl: t.nats.url, databaseUrl: t.db.url, dataDir: t.dataDir, progress: false });
    expect(result).toMatchObject({ projection: "economy", quarantined: 0 });
    expect(await snapshotTables(t.db.pool, economyProjector.tables)).toEqual(before);
  });
});
