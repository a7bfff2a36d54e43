import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import type { EventStore } from "../../src/adapters/nats/eventStore.js";
import { subtaskDecider, subtaskSubject } from "../../src/domain/tasks/subtask.js";
import { subtaskEvents } from "../../src/domain/tasks/subtaskEvents.js";
import { taskDecider, taskResult, taskSubject } from "../../src/domain/tasks/task.js";
import { taskEvents } from "../../src/domain/tasks/taskEvents.js";
import type { LiveProjection } from "../../src/projections/live.js";
import { rebuildProjection } from "../../src/projections/rebuild.js";
import { tasksProjector } from "../../src/projections/tasks/tasksProjector.js";
import { newSigner } from "../support/events.js";
import type { TestDatabase } from "../support/postgres.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";
import { snapshotTables } from "../support/tables.js";

const signer = newSigner();
const silent = { quarantined: () => undefined };
let db: TestDatabase;
let store: EventStore;
let live: LiveProjection;
let harness: ProjectionHarness;

beforeAll(async () => {
  ({ db, store, live } = harness = await startProjectionHarness(tasksProjector));
});
afterAll(() => harness?.close());

const settle = async () => live.waitFor("EC_TASKS", await store.lastSeq("EC_TASKS"));

describe("tasks and subtasks projection", () => {
  it("follows a task from submission to completion, and a rebuild equals it row for row", async () => {
    const tasks = commandHandler({ store, decider: taskDecider, registry: taskEvents, sealer: inlineSealer(signer) });
    const subtasks = commandHandler({ store, decider: subtaskDecider, registry: subtaskEvents, sealer: inlineSealer(signer) });
    const now = new Date("2026-11-23T12:00:00.000Z");
    const meta = { now };
    const t = taskSubject("task-1");
    await tasks(t, { kind: "submit", request: { prompt: "add and print", language: "python", submitter: "alice", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, meta);
    const plan = [0, 1].map((index) => ({ subtaskId: `task-1-${index}`, index, input: `part ${index}`, language: "python" as const, timeoutMs: 5_000 }));
    await tasks(t, { kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }, meta);
    for (const p of plan) {
      const s = subtaskSubject(p.subtaskId);
      await subtasks(s, { kind: "queue", spec: { taskId: "task-1", index: p.index, input: p.input, language: "python", timeoutMs: p.timeoutMs, priority: 50, resourceClass: "cpu", sandboxRequired: true, maxAttempts: 3 } }, meta);
      await subtasks(s, { kind: "assign", agentId: "agent-1", leaseId: `lease-${p.index}`, leaseMs: 30_000, now }, meta);
    }
    await settle();
    expect((await db.pool.query("SELECT subtask_id, status, attempts, agent_id FROM subtasks ORDER BY subtask_id")).rows).toEqual([
      { subtask_id: "task-1-0", status: "assigned", attempts: 1, agent_id: "agent-1" },
      { subtask_id: "task-1-1", status: "assigned", attempts: 1, agent_id: "agent-1" },
    ]);

    for (const p of plan) {
      await subtasks(subtaskSubject(p.subtaskId), { kind: "report", agentId: "agent-1", leaseId: `lease-${p.index}`, now, ok: true, output: `out ${p.index}\n`, stderr: "", durationMs: 10 }, meta);
      await tasks(t, { kind: "recordSubtaskResult", subtaskId: p.subtaskId, ok: true, error: "" }, meta);
    }
    await settle();
    expect((await db.pool.query("SELECT task_id, status, subtask_count, finished_count FROM tasks")).rows).toEqual([
      { task_id: "task-1", status: "completed", subtask_count: 2, finished_count: 2 },
    ]);
    expect((await db.pool.query("SELECT status FROM subtasks ORDER BY subtask_id")).rows.map((r) => r.status)).toEqual(["completed", "completed"]);
    // The code and output are the subtasks', combined in plan order when read.
    const task = (await db.pool.query("SELECT state FROM tasks")).rows[0].state;
    const results = Object.fromEntries((await db.pool.query("SELECT subtask_id, state FROM subtasks")).rows.map((r) => [r.subtask_id, r.state.result]));
    expect(taskResult(task, results)?.output).toBe("# part 1: part 0\nout 0\n\n# part 2: part 1\nout 1\n");

    // A validly signed event the aggregate would refuse: a result for a subtask never assigned.
    const stray = sealEvent(signer, {
      id: randomUUID(), type: "subtask.completed", subject: subtaskSubject("task-9-0"),
      data: { agentId: "agent-x", leaseId: "lease-x", output: "", stderr: "", durationMs: 1 }, time: now.toISOString(), schemaVersion: 1,
    });
    await store.append(subtaskSubject("task-9-0"), [stray], "any");
    await settle();
    expect((await db.pool.query("SELECT reason FROM projection_quarantine WHERE projection = 'tasks'")).rows.map((r) => r.reason)).toEqual([
      "not_assigned: the subtask is none, not assigned",
    ]);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM subtasks WHERE subtask_id = 'task-9-0'")).rows[0].n).toBe(0);

    const tables = [...tasksProjector.tables, "projection_checkpoints"];
    const before = await snapshotTables(db.pool, tables);
    await rebuildProjection(tasksProjector, { store, pool: db.pool, log: silent });
    expect(await snapshotTables(db.pool, tables)).toEqual(before);
  });
});
