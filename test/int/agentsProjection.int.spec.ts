import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { agentDecider, agentSubject } from "../../src/domain/agents/agent.js";
import { agentEvents } from "../../src/domain/agents/agentEvents.js";
import { agentsProjector } from "../../src/projections/agents/agentsProjector.js";
import { rebuildProjection } from "../../src/projections/rebuild.js";
import { newSigner } from "../support/events.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";
import { snapshotTables } from "../support/tables.js";

let h: ProjectionHarness;
beforeAll(async () => {
  h = await startProjectionHarness(agentsProjector);
});
afterAll(() => h?.close());

const profile = { mode: "worker" as const, capabilities: { models: ["m"], languages: ["python" as const], sandbox: "bwrap" as const, resourceClass: "cpu" as const, maxConcurrent: 1 }, deviceType: "server" as const };

describe("agents projection", () => {
  it("keeps the record of checked results, who approved, and when the agent was first seen; a rebuild equals it row for row", async () => {
    const agents = commandHandler({ store: h.store, decider: agentDecider, registry: agentEvents, sealer: inlineSealer(newSigner()) });
    const at = (m: number) => ({ now: new Date(Date.parse("2026-11-23T10:00:00.000Z") + m * 60_000) });
    const a = agentSubject("agent-a");
    await agents(a, { kind: "register", profile, autoApprove: false }, at(0));
    await agents(a, { kind: "approve", by: "operator" }, at(1));
    const check = (subtaskId: string, ok: boolean, m: number) =>
      agents(a, { kind: "recordCheck", subtaskId, leaseId: "L1", ok, ...(ok ? {} : { reason: "forged output" }), now: at(m).now }, at(m));
    await check("t-0", true, 2);
    await check("t-1", false, 3);
    expect((await check("t-1", false, 4)).events).toEqual([]);
    await check("t-2", true, 5);
    await agents(agentSubject("agent-b"), { kind: "blacklist", by: "operator", reason: "known bad" }, at(6));
    await h.settle("EC_AGENTS");

    const rows = await h.db.pool.query(
      "SELECT agent_id, status, approved_by, checked_results, failed_results, check_streak, last_failed_at, first_seen_at, updated_at FROM agents ORDER BY agent_id",
    );
    expect(rows.rows).toEqual([
      {
        agent_id: "agent-a",
        status: "approved",
        approved_by: "operator",
        checked_results: 3,
        failed_results: 1,
        check_streak: 1,
        last_failed_at: at(3).now,
        first_seen_at: at(0).now,
        updated_at: at(5).now,
      },
      { agent_id: "agent-b", status: "blacklisted", approved_by: null, checked_results: 0, failed_results: 0, check_streak: 0, last_failed_at: null, first_seen_at: at(6).now, updated_at: at(6).now },
    ]);
    const state = (await h.db.pool.query("SELECT state FROM agents WHERE agent_id = 'agent-a'")).rows[0].state;
    expect(state.record).toEqual({ checked: 3, failed: 1, streak: 1, lastFailedAt: at(3).now.toISOString() });

    const before = await snapshotTables(h.db.pool, ["agents"]);
    await rebuildProjection(agentsProjector, { store: h.store, pool: h.db.pool, log: { quarantined: () => undefined } });
    expect(await snapshotTables(h.db.pool, ["agents"])).toEqual(before);
  });
});
