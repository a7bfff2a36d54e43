import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { verificationPool, type SignatureVerifier } from "../../src/adapters/crypto/verificationPool.js";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore, encodeCommit, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject, type CreditCommand } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { DomainRuleViolation } from "../../src/domain/decider.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import type { LiveProjection } from "../../src/projections/live.js";
import { rebuildProjection } from "../../src/projections/rebuild.js";
import { newSigner } from "../support/events.js";
import type { TestNats } from "../support/nats.js";
import type { TestDatabase } from "../support/postgres.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";
import { snapshotTables } from "../support/tables.js";

const signer = newSigner();
const silent = { quarantined: () => undefined };
let nats: TestNats;
let db: TestDatabase;
let store: EventStore;
let live: LiveProjection;
let verifier: SignatureVerifier;

// Writers that keep trying: the race below is about the balance, not about giving up under load.
const handlerOn = (s: EventStore, cacheSize?: number) =>
  commandHandler({ store: s, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(signer), maxAttempts: 100, ...(cacheSize === undefined ? {} : { cacheSize }) });

async function settle() {
  await live.waitFor("EC_CREDITS", await store.lastSeq("EC_CREDITS"));
}

async function account(id: string) {
  return (await db.pool.query("SELECT * FROM credit_accounts WHERE account_id = $1", [id])).rows[0];
}

let harness: ProjectionHarness;

beforeAll(async () => {
  verifier = verificationPool(2);
  ({ nats, db, store, live } = harness = await startProjectionHarness(balancesProjector, { verifier }));
});
afterAll(async () => {
  await harness?.close();
  await verifier?.close();
});

describe("credit account aggregate over JetStream, balances projection in Postgres", () => {
  it("earns, holds, spends from a hold, releases and adjusts, and the projection follows", async () => {
    const handle = handlerOn(store);
    const s = creditSubject("alice");
    const now = new Date("2026-11-23T10:00:00Z");
    const run = (c: CreditCommand) => handle(s, c, { now });
    await run({ kind: "earn", amount: 10_000, reason: "subtask", ref: "st-1" });
    await run({ kind: "hold", holdId: "task-1", amount: 4_000, reason: "task submitted" });
    await run({ kind: "spend", amount: 2_500, reason: "task done", holdId: "task-1" });
    await run({ kind: "hold", holdId: "task-2", amount: 1_000, reason: "task submitted" });
    await run({ kind: "release", holdId: "task-2" });
    await run({ kind: "adjust", delta: -500, reason: "correction" });
    await expect(run({ kind: "spend", amount: 99_999, reason: "too much" })).rejects.toMatchObject({ code: "insufficient_credits" });
    await settle();
    expect(await account("alice")).toMatchObject({ available: 7_000, held: 0, earned_total: 10_000, spent_total: 2_500, event_count: 6 });
    const history = await db.pool.query("SELECT type, amount, available_after FROM credit_transactions WHERE account_id = 'alice' ORDER BY seq");
    expect(history.rows.map((r) => [r.type, r.amount, r.available_after])).toEqual([
      ["credits.earned", 10_000, 10_000],
      ["credits.held", 4_000, 6_000],
      ["credits.spent", 2_500, 7_500],
      ["credits.held", 1_000, 6_500],
      ["credits.released", 1_000, 7_500],
      ["credits.adjusted", -500, 7_000],
    ]);
  });

  it("a retried command (same command id) is applied once", async () => {
    const handle = handlerOn(store);
    const s = creditSubject("retry");
    const cmd: CreditCommand = { kind: "earn", amount: 1_000, reason: "once" };
    const meta = { commandId: randomUUID(), now: new Date() };
    const first = await handle(s, cmd, meta);
    const again = await handlerOn(store)(s, cmd, meta);
    expect(again.events[0]!.id).toBe(first.events[0]!.id);
    expect(again.duplicate).toBe(true);
    await settle();
    expect(await account("retry")).toMatchObject({ available: 1_000, event_count: 1 });
  });

  it("many writers racing on one account never take the balance below zero", async () => {
    const s = creditSubject("contended");
    await handlerOn(store)(s, { kind: "earn", amount: 100_000, reason: "seed" }, { now: new Date() });
    // 8 writers, each on its own NATS connection with its own cached state, 30 spends of 1000 each:
    // 240 attempts against a balance that covers exactly 100.
    const writers = await Promise.all(Array.from({ length: 8 }, async (_, i) => handlerOn(await createEventStore(await nats.connect(`w${i}`)))));
    const outcomes = await Promise.all(
      writers.flatMap((handle) =>
        Array.from({ length: 30 }, () =>
          handle(s, { kind: "spend", amount: 1_000, reason: "race" }, { now: new Date() }).then(
            () => "spent",
            (err: unknown) => (err instanceof DomainRuleViolation ? err.code : String(err)),
          ),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "spent")).toHaveLength(100);
    expect(outcomes.filter((o) => o !== "spent" && o !== "insufficient_credits")).toEqual([]);

    // The stream itself, folded in order, never goes below zero and ends at exactly zero.
    const { commits } = await store.readAggregate(s);
    let balance = 0;
    let lowest = 0;
    for (const c of commits) {
      for (const e of JSON.parse(Buffer.from(c.data).toString()) as { type: string; data: { amount: number } }[]) {
        balance += e.type === "credits.earned" ? e.data.amount : -e.data.amount;
        lowest = Math.min(lowest, balance);
      }
    }
    expect(commits).toHaveLength(101);
    expect([balance, lowest]).toEqual([0, 0]);
    await settle();
    expect(await account("contended")).toMatchObject({ available: 0, spent_total: 100_000, event_count: 101 });
  });

  it("without the expected-version check the same race overdraws, and the projection refuses the overdraft", async () => {
    // The control for the test above: unconditional appends of decisions made on stale state.
    const s = creditSubject("unguarded");
    await handlerOn(store)(s, { kind: "earn", amount: 5_000, reason: "seed" }, { now: new Date() });
    const spends = Array.from({ length: 10 }, () =>
      sealEvent(signer, { id: randomUUID(), type: "credits.spent", subject: s, data: { amount: 1_000, reason: "stale" }, time: new Date().toISOString(), schemaVersion: 1 }),
    );
    await Promise.all(spends.map((e) => store.append(s, [e], "any")));
    await settle();
    expect(await account("unguarded")).toMatchObject({ available: 0, event_count: 6 });
    const q = await db.pool.query("SELECT reason FROM projection_quarantine WHERE reason LIKE 'insufficient_credits%'");
    expect(q.rowCount).toBe(5);
  });

  it("quarantines commits with bad JSON, a bad signature, an unknown type or a wrong subject, and goes on", async () => {
    const s = creditSubject("bob");
    const good = (amount: number) =>
      sealEvent(signer, { id: randomUUID(), type: "credits.earned", subject: s, data: { amount, reason: "ok" }, time: new Date().toISOString(), schemaVersion: 1 });
    const forged = { ...good(1), data: { amount: 1_000_000, reason: "ok" } };
    const unknown = sealEvent(signer, { id: randomUUID(), type: "credits.minted", subject: s, data: { amount: 5 }, time: new Date().toISOString(), schemaVersion: 1 });
    const elsewhere = good(7);
    const js = (await import("@nats-io/jetstream")).jetstream(await nats.connect());
    await store.append(s, [good(100)], "any");
    await js.publish(s, new TextEncoder().encode("{not json"));
    await js.publish(s, encodeCommit([forged]));
    await js.publish(s, encodeCommit([unknown]));
    await js.publish(creditSubject("carol"), encodeCommit([elsewhere]));
    await store.append(s, [good(20)], "any");
    await settle();
    expect(await account("bob")).toMatchObject({ available: 120, event_count: 2 });
    expect(await account("carol")).toBeUndefined();
    const reasons = (await db.pool.query("SELECT event_id, reason FROM projection_quarantine ORDER BY seq")).rows.map((r) => r.reason as string);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^not JSON/),
        expect.stringMatching(/^bad signature/),
        expect.stringMatching(/unknown event type credits\.minted/),
        expect.stringMatching(/stored under ec\.credits\.account\.carol/),
      ]),
    );
  });

  it("a cold command handler skips the forged and unknown events of an aggregate's history, as the projection does", async () => {
    const skipped: string[] = [];
    const handle = commandHandler({
      store,
      decider: creditAccountDecider,
      registry: creditEvents,
      sealer: inlineSealer(signer),
      verifier,
      onSkippedEvent: (_s, _seq, reason) => skipped.push(reason),
    });
    const s = creditSubject("bob");
    // bob's projection says 120; the forged commit claimed +1,000,000.
    await handle(s, { kind: "spend", amount: 120, reason: "all of it" }, { now: new Date() });
    await expect(handle(s, { kind: "spend", amount: 1, reason: "one more" }, { now: new Date() })).rejects.toMatchObject({ code: "insufficient_credits" });
    expect(skipped).toEqual(
      expect.arrayContaining([expect.stringMatching(/^not JSON/), expect.stringMatching(/^bad signature/), expect.stringMatching(/unknown event type/)]),
    );
    await settle();
    expect(await account("bob")).toMatchObject({ available: 0, spent_total: 120 });
  });

  it("a rebuild from sequence 1 equals the live projection row for row, and live goes on after it", async () => {
    const tables = [...balancesProjector.tables, "projection_quarantine", "projection_checkpoints"];
    await settle();
    const strip = (snap: Record<string, unknown[]>) => ({
      ...snap,
      projection_quarantine: snap.projection_quarantine!.map((r) => ({ ...(r as object), id: undefined, quarantined_at: undefined })),
    });
    const before = strip(await snapshotTables(db.pool, tables));
    expect((before as Record<string, unknown[]>).credit_accounts!.length).toBeGreaterThan(3);
    const result = await rebuildProjection(balancesProjector, { store, pool: db.pool, log: silent, batchSize: 7 });
    expect(result.commits).toBe(await store.lastSeq("EC_CREDITS"));
    expect(strip(await snapshotTables(db.pool, tables))).toEqual(before);

    await handlerOn(store)(creditSubject("alice"), { kind: "earn", amount: 1, reason: "after rebuild" }, { now: new Date() });
    await settle();
    expect(await account("alice")).toMatchObject({ available: 7_001, event_count: 7 });
  });
});
