import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { epochAggregate, intentAggregate, policyAggregate, priceAggregate } from "../../src/domain/economy/context.js";
import type { CustodyPolicy } from "../../src/domain/economy/custody.js";
import { policyDocumentText } from "../../src/domain/economy/custody.js";
import { epochEnd } from "../../src/domain/economy/epochId.js";
import { computeEpochRecord } from "../../src/domain/economy/issuance.js";
import type { AggregateKind } from "../../src/domain/context.js";
import { eventRegistry } from "../../src/domain/events/registry.js";
import { economyProjector } from "../../src/projections/economy/economyProjector.js";
import { epochAllocations, epochTally, intentById, latestProposalsSince, policyVersions, proposalHistory } from "../../src/projections/economy/queries.js";
import { rebuildProjection } from "../../src/projections/rebuild.js";
import { newSigner } from "../support/events.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";
import { snapshotTables } from "../support/tables.js";

let h: ProjectionHarness;
beforeAll(async () => {
  h = await startProjectionHarness(economyProjector);
});
afterAll(() => h?.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const handlerOf = <C, S>(kind: AggregateKind<C, S, any>, signer: Ed25519Signer) =>
  commandHandler({ store: h.store, decider: kind.decider, registry: eventRegistry(...kind.events), sealer: inlineSealer(signer) });

const a = newSigner();
const b = newSigner();
const at = (minute: number) => new Date(Date.parse("2026-12-04T10:00:00.000Z") + minute * 60_000);
const hex = (c: string) => c.repeat(64);

describe("the economy projection", () => {
  it("keeps proposals, epochs, intents and policies as folded, refuses what a signer may not say, and a rebuild equals it row for row", async () => {
    // Prices: two coordinators, each its own key; a proposal signed for another is quarantined.
    const priceA = handlerOf(priceAggregate, a);
    const priceB = handlerOf(priceAggregate, b);
    const propose = (handle: typeof priceA, who: Ed25519Signer, resourceClass: "cpu" | "gpu", queued: number, minute: number) =>
      handle(priceAggregate.subject(who.publicKey), { kind: "propose", resourceClass, queued, agents: 1, capacity: 2, now: at(minute) }, { now: at(minute) });
    await propose(priceA, a, "cpu", 0, 0);
    await propose(priceA, a, "gpu", 5, 0);
    await propose(priceA, a, "cpu", 10, 1);
    await propose(priceB, b, "cpu", 3, 1);
    await propose(priceA, b, "cpu", 50, 2);

    // Epochs: E1 disagrees (two records, one signer each); E2 is final by both.
    const epochA = handlerOf(epochAggregate, a);
    const epochB = handlerOf(epochAggregate, b);
    const approved = [a.publicKey, b.publicKey];
    const record = (epochId: string, amount: number) =>
      computeEpochRecord({
        epochId,
        demand: 4,
        cpuAgents: 2,
        gpuAgents: 0,
        contributions: [{ ref: "e1", accountId: "alice", resourceClass: "cpu", computeMs: amount, quality: 1, ok: true }, { ref: "e2", accountId: "bob", resourceClass: "cpu", computeMs: 1_000, quality: 1, ok: true }],
        coordinatorAccounts: approved,
        reserveAccount: "reserve",
      });
    const vote = (handle: typeof epochA, who: Ed25519Signer, epochId: string, amount: number) => {
      const now = new Date(epochEnd(epochId).getTime() + 60_000);
      return handle(epochAggregate.subject(epochId), { kind: "vote", coordinatorId: who.publicKey, record: record(epochId, amount), approvedCoordinators: approved, now }, { now });
    };
    await vote(epochA, a, "2026-12-04T08", 1_000);
    await vote(epochB, b, "2026-12-04T08", 2_000);
    await vote(epochA, a, "2026-12-04T09", 3_000);
    expect((await vote(epochB, b, "2026-12-04T09", 3_000)).events.map((e) => e.type)).toEqual(["epoch.voted", "epoch.finalized"]);
    // A vote that names another coordinator than its signer: quarantined.
    await epochA(epochAggregate.subject("2026-12-04T07"), { kind: "vote", coordinatorId: b.publicKey, record: record("2026-12-04T07", 1), approvedCoordinators: approved, now: at(0) }, { now: at(0) });

    // Intents: one settled, one expired.
    const intents = handlerOf(intentAggregate, a);
    const create = (id: string, paymentHash: string) =>
      intents(intentAggregate.subject(id), {
        kind: "create",
        accountId: "alice",
        amountSats: 3_000,
        provider: "mock",
        paymentHash,
        bolt11: `lnmock${paymentHash}`,
        expiresAt: at(15),
        development: true,
        satsPerCredit: 30,
        now: at(0),
      }, { now: at(0) });
    await create("i-paid", hex("a"));
    await create("i-late", hex("b"));
    await intents(intentAggregate.subject("i-paid"), { kind: "settle", amountPaidSats: 3_000, paidAt: at(2), now: at(3) }, { now: at(3) });
    await intents(intentAggregate.subject("i-late"), { kind: "expire", now: at(16) }, { now: at(16) });

    // A policy line: genesis needs every custodian; then a change by the threshold.
    const [k1, k2] = [newSigner(), newSigner()];
    const policies = handlerOf(policyAggregate, a);
    const policy: CustodyPolicy = { quorumThreshold: 1, custodians: [k1.publicKey, k2.publicKey].sort(), approvedCoordinators: [...approved].sort(), keyRotationDays: 30 };
    const sign = (k: Ed25519Signer, version: number, p: CustodyPolicy) => ({ custodian: k.publicKey, signature: k.sign(new TextEncoder().encode(policyDocumentText("treasury", version, p))) });
    const subject = policyAggregate.subject("treasury");
    await policies(subject, { kind: "propose", policyId: "treasury", policy, now: at(0) }, { now: at(0) });
    await policies(subject, { kind: "activate", signatures: [sign(k1, 1, policy), sign(k2, 1, policy)], now: at(1) }, { now: at(1) });
    const v2 = { ...policy, keyRotationDays: 60 };
    await policies(subject, { kind: "propose", policyId: "treasury", policy: v2, now: at(2) }, { now: at(2) });

    await h.settle("EC_ECONOMY");

    const latest = await latestProposalsSince(h.db.pool, at(0));
    const shown = latest.map((p) => `${p.coordinatorId === a.publicKey ? "a" : "b"} ${p.resourceClass} queued ${p.queued} at ${p.proposedAt.toISOString()}`);
    expect(shown.sort()).toEqual([`a cpu queued 10 at ${at(1).toISOString()}`, `a gpu queued 5 at ${at(0).toISOString()}`, `b cpu queued 3 at ${at(1).toISOString()}`]);
    expect((await latestProposalsSince(h.db.pool, at(1))).map((p) => p.resourceClass)).toEqual(["cpu", "cpu"]);
    const history = await proposalHistory(h.db.pool, { limit: 3 });
    expect(history.items).toHaveLength(3);
    const rest = await proposalHistory(h.db.pool, { limit: 3, before: history.next! });
    expect([...history.items, ...rest.items].map((p) => p.proposedAt.getTime())).toEqual([at(1), at(1), at(0), at(0)].map((d) => d.getTime()));
    expect(rest.next).toBeNull();

    const disagreement = await epochTally(h.db.pool, "2026-12-04T08");
    expect(disagreement.map((r) => r.signers.length)).toEqual([1, 1]);
    expect(new Set(disagreement.flatMap((r) => r.signers))).toEqual(new Set(approved));
    const agreed = await epochTally(h.db.pool, "2026-12-04T09");
    expect(agreed).toHaveLength(1);
    expect(agreed[0]!.signers).toEqual([...approved].sort());
    const allocations = await epochAllocations(h.db.pool, "2026-12-04T09");
    expect(allocations.reduce((s, x) => s + x.millicredits, 0)).toBe(agreed[0]!.record.issuedMillicredits);
    expect(allocations).toEqual(agreed[0]!.record.allocations);
    const epochs = await h.db.pool.query("SELECT epoch_id, status, vote_count, record_count FROM economy_epochs ORDER BY epoch_id");
    expect(epochs.rows).toEqual([
      { epoch_id: "2026-12-04T08", status: "open", vote_count: 2, record_count: 2 },
      { epoch_id: "2026-12-04T09", status: "final", vote_count: 2, record_count: 1 },
    ]);

    const paid = await intentById(h.db.pool, "i-paid");
    expect(paid).toMatchObject({ status: "settled", accountId: "alice", createdBy: a.publicKey, settlement: { amountPaidSats: 3_000, mintedMillicredits: 98_500, feeMillicredits: 1_500 } });
    expect(await intentById(h.db.pool, "i-late")).toMatchObject({ status: "expired", settlement: null });

    const versions = await policyVersions(h.db.pool, "treasury", 10);
    expect(versions.map((v) => [v.version, v.policy.keyRotationDays, v.activation?.signatures.length ?? null])).toEqual([
      [2, 60, null],
      [1, 30, 2],
    ]);

    const quarantined = await h.db.pool.query("SELECT reason FROM projection_quarantine WHERE projection = 'economy' ORDER BY seq");
    expect(quarantined.rows.map((r: { reason: string }) => r.reason)).toEqual([
      `a price proposal of coordinator ${b.publicKey} signed by ${a.publicKey}`,
      `a vote for coordinator ${b.publicKey} signed by ${a.publicKey}`,
    ]);

    const before = await snapshotTables(h.db.pool, economyProjector.tables);
    await rebuildProjection(economyProjector, { store: h.store, pool: h.db.pool, log: { quarantined: () => undefined } });
    expect(await snapshotTables(h.db.pool, economyProjector.tables)).toEqual(before);
  });
});
