import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import { startLiveProjection } from "../../src/projections/live.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

const silent = { quarantined: () => undefined };
let first: TestNats;
let second: TestNats;
let db: TestDatabase;

beforeAll(async () => {
  [first, second, db] = await Promise.all([startTestNats(), startTestNats(), createTestDatabase()]);
});
afterAll(async () => {
  await db?.drop();
  await first?.close();
  await second?.close();
});

async function earn(store: EventStore, account: string, amount: number) {
  const handle = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
  return handle(creditSubject(account), { kind: "earn", amount, reason: "test" }, { now: new Date() });
}

async function project(store: EventStore, rebuilds: string[]) {
  const live = startLiveProjection(balancesProjector, { store, pool: db.pool, log: silent, onRebuild: (r) => rebuilds.push(r), onError: (e) => console.error("LIVE ERR", e) });
  await live.waitFor("EC_CREDITS", await store.lastSeq("EC_CREDITS"));
  await live.stop();
}

const balances = async () =>
  (await db.pool.query("SELECT account_id, available FROM credit_accounts ORDER BY account_id")).rows.map((r) => [r.account_id, r.available]);

describe("a projection's checkpoint belongs to one stream", () => {
  it("restarting on the same stream goes on from the checkpoint without a rebuild", async () => {
    const store = await createEventStore(await first.connect());
    const rebuilds: string[] = [];
    await earn(store, "x", 100);
    await project(store, rebuilds);
    await earn(store, "x", 5);
    await project(store, rebuilds);
    expect(rebuilds).toEqual([]);
    expect(await balances()).toEqual([["x", 105]]);
  });

  it("pointed at another NATS store whose stream restarts at sequence 1, it rebuilds instead of skipping", async () => {
    const store = await createEventStore(await second.connect());
    const rebuilds: string[] = [];
    await earn(store, "y", 7); // seq 1 here; the checkpoint from the first store says 2
    await project(store, rebuilds);
    expect(rebuilds).toHaveLength(1);
    expect(rebuilds[0]).toMatch(/does not match the stream/);
    expect(await balances()).toEqual([["y", 7]]);
  });
});
