import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replay } from "../../src/cli/replay.js";
import { economyProjector } from "../../src/projections/economy/economyProjector.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { snapshotTables } from "../support/tables.js";

/** `edgecoder up` with no DATABASE_URL: the node's projections live in its embedded PGlite. */
describe("a node with its embedded Postgres", () => {
  let t: TestNode;
  beforeAll(async () => {
    // No price proposal between the snapshots: the node's first, at start, is in both.
    t = await startTestNode({ priceIntervalMs: 24 * 3600_000 }, { embeddedPostgres: true });
    t.model.answer = (prompt) =>
      prompt.includes("JSON array") ? JSON.stringify([{ input: "print the number 3", language: "python" }]) : "```python\nprint(3)\n```";
  }, 120_000);
  afterAll(async () => t?.close());

  it("runs a task end to end, and `edgecoder replay` rebuilds its projections row for row while it runs", async () => {
    expect(t.node.databaseUrl).toMatch(/^postgres:\/\/postgres:ec[0-9a-f]{48}@127\.0\.0\.1:\d+\/postgres$/);
    const taskId = (await t.admin("POST", "/submit", { prompt: "print 3" })).body.taskId as string;
    const result = await eventually("the task to finish", async () => {
      const r = await t.admin("GET", `/tasks/${taskId}/result`);
      return r.body.done ? r.body : undefined;
    });
    expect(result.status).toBe("completed");
    expect(result.output).toContain("3\n");

    const snapshot = async () => ({
      tasks: (await t.db.pool.query("SELECT task_id, status, code, output, state FROM tasks ORDER BY task_id")).rows,
      subtasks: (await t.db.pool.query("SELECT subtask_id, status, agent_id, state FROM subtasks ORDER BY subtask_id")).rows,
      agents: (await t.db.pool.query("SELECT agent_id, status, capabilities FROM agents ORDER BY agent_id")).rows,
      economy: await snapshotTables(t.db.pool, economyProjector.tables),
    });
    const live = await snapshot();
    const results = await replay({ natsUrl: t.nats.url, dataDir: t.dataDir, progress: false });
    expect(results.map((r) => r.projection).sort()).toEqual(["agents", "credit_balances", "economy", "tasks"]);
    expect(await snapshot()).toEqual(live);
  }, 120_000);
});
