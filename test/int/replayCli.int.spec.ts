import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { encodeCommit, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import type { LiveProjection } from "../../src/projections/live.js";
import { newSigner } from "../support/events.js";
import type { TestNats } from "../support/nats.js";
import type { TestDatabase } from "../support/postgres.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";
import { snapshotTables } from "../support/tables.js";

const run = promisify(execFile);
let nats: TestNats;
let db: TestDatabase;
let store: EventStore;
let live: LiveProjection;
let harness: ProjectionHarness;

beforeAll(async () => {
  ({ nats, db, store, live } = harness = await startProjectionHarness(balancesProjector));
});
afterAll(() => harness?.close());

describe("edgecoder replay", () => {
  it("rebuilds the balances projection from sequence 1 and the tables equal the live ones row for row", async () => {
    const handle = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
    const now = new Date("2026-11-23T12:00:00Z");
    for (let i = 0; i < 40; i++) {
      const s = creditSubject(`acct-${i % 7}`);
      await handle(s, { kind: "earn", amount: 1_000 + i, reason: "work" }, { now });
      if (i % 3 === 0) await handle(s, { kind: "hold", holdId: `h${i}`, amount: 500, reason: "task" }, { now });
      if (i % 6 === 0) await handle(s, { kind: "spend", amount: 200, reason: "task", holdId: `h${i}` }, { now });
    }
    // Through JetStream with its ack, so the stream holds it before lastSeq is read below.
    await jetstream(await nats.connect()).publish(creditSubject("acct-1"), encodeCommit([]));
    await live.waitFor("EC_CREDITS", await store.lastSeq("EC_CREDITS"));
    const tables = [...balancesProjector.tables, "projection_checkpoints"];
    const before = await snapshotTables(db.pool, tables);

    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "--nats-url", nats.url, "--database-url", db.url, "replay", "--projection", "credit_balances"],
      { env: { ...process.env, EC_DATA_DIR: "/nonexistent" } },
    );
    expect(stdout).toMatch(/credit_balances: rebuilt from \d+ commits \(\d+ events, 1 quarantined\) in \d+ ms/);
    expect(stderr).toContain("credit_balances |");
    expect(await snapshotTables(db.pool, tables)).toEqual(before);
    expect(before.credit_accounts).toHaveLength(7);
  });

  it("names the problem and exits non-zero for an unknown projection", async () => {
    const err = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--nats-url", nats.url, "--database-url", db.url, "replay", "--projection", "nope"]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain("unknown projection nope");
  });
});
