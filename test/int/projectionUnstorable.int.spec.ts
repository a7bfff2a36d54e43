import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { verificationPool } from "../../src/adapters/crypto/verificationPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { agentDecider, agentSubject } from "../../src/domain/agents/agent.js";
import { agentEvents } from "../../src/domain/agents/agentEvents.js";
import { creditAccountDecider, creditSubject } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { subtaskDecider, subtaskSubject } from "../../src/domain/tasks/subtask.js";
import { subtaskEvents } from "../../src/domain/tasks/subtaskEvents.js";
import { taskDecider, taskResult, taskSubject } from "../../src/domain/tasks/task.js";
import { taskEvents } from "../../src/domain/tasks/taskEvents.js";
import { agentsProjector } from "../../src/projections/agents/agentsProjector.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import { startLiveProjection, type LiveProjection } from "../../src/projections/live.js";
import { rebuildProjection } from "../../src/projections/rebuild.js";
import { tasksProjector } from "../../src/projections/tasks/tasksProjector.js";
import { migrate } from "../../src/projections/migrate.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { snapshotTables } from "../support/tables.js";

const signer = newSigner();
const silent = { quarantined: () => undefined };
const now = new Date("2026-12-03T12:00:00.000Z");
const meta = { now };
// Signed events cannot hold lone surrogates (RFC 8785 refuses them), NULs they can.
const nasty = "a\u0000b \u{1F600} \u0000";
const shown = "a\u2400b \u{1F600} \u2400";

let nats: TestNats;
let db: TestDatabase;
let store: EventStore;
let lives: LiveProjection[];
let verifier: ReturnType<typeof verificationPool>;

beforeAll(async () => {
  [nats, db] = await Promise.all([startTestNats(), createTestDatabase()]);
  await migrate(db.url);
  store = await createEventStore(await nats.connect());
  verifier = verificationPool();
  lives = [tasksProjector, agentsProjector, balancesProjector].map((p) => startLiveProjection(p, { store, pool: db.pool, log: silent, verifier }));
});
afterAll(async () => {
  await Promise.all(lives.map((l) => l.stop()));
  await verifier.close();
  await db.drop();
  await nats.close();
});

const settle = async () => {
  for (const stream of ["EC_TASKS", "EC_AGENTS", "EC_CREDITS"]) {
    const seq = await store.lastSeq(stream);
    await Promise.all(lives.map((l, i) => ([tasksProjector, agentsProjector, balancesProjector][i]!.streams.includes(stream) ? l.waitFor(stream, seq) : undefined)));
  }
};

describe("text Postgres cannot hold, in validly signed events", () => {
  it("a program's output with NULs is kept exactly, once, in its subtask's state", async () => {
    const tasks = commandHandler({ store, decider: taskDecider, registry: taskEvents, sealer: inlineSealer(signer) });
    const subtasks = commandHandler({ store, decider: subtaskDecider, registry: subtaskEvents, sealer: inlineSealer(signer) });
    const t = taskSubject("nul-task");
    await tasks(t, { kind: "submit", request: { prompt: "print a NUL", language: "python", submitter: "alice", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, meta);
    await tasks(t, { kind: "recordDecomposition", subtasks: [{ subtaskId: "nul-task-0", index: 0, input: "x", language: "python", timeoutMs: 5_000 }], parsed: true, model: "m" }, meta);
    const s = subtaskSubject("nul-task-0");
    await subtasks(s, { kind: "queue", spec: { taskId: "nul-task", index: 0, input: "x", language: "python", timeoutMs: 5_000, priority: 50, resourceClass: "cpu", sandboxRequired: true, maxAttempts: 3 } }, meta);
    await subtasks(s, { kind: "assign", agentId: "agent-1", leaseId: "lease-0", leaseMs: 30_000, now }, meta);
    await subtasks(s, { kind: "report", agentId: "agent-1", leaseId: "lease-0", now, ok: true, output: nasty, stderr: nasty, durationMs: 10 }, meta);
    await tasks(t, { kind: "recordSubtaskResult", subtaskId: "nul-task-0", ok: true, error: "" }, meta);
    await settle();

    const row = (await db.pool.query("SELECT status, state FROM tasks WHERE task_id = 'nul-task'")).rows[0];
    expect(row.status).toBe("completed");
    const sub = (await db.pool.query("SELECT status, state FROM subtasks WHERE subtask_id = 'nul-task-0'")).rows[0];
    expect(sub.status).toBe("completed");
    // Stored once, on the subtask, exactly.
    expect(sub.state.result).toEqual({ code: "", output: nasty, stderr: nasty });
    expect(taskResult(row.state, { "nul-task-0": sub.state.result })?.output).toBe(`# part 1: x\n${nasty}`);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM projection_quarantine")).rows[0].n).toBe(0);
  });

  it("an agent named with a NUL is projected, and its blacklisting still takes effect", async () => {
    const agents = commandHandler({ store, decider: agentDecider, registry: agentEvents, sealer: inlineSealer(signer) });
    const id = "agent-nul";
    await agents(agentSubject(id), { kind: "register", profile: { name: nasty, mode: "worker", capabilities: { models: [], languages: ["python"], sandbox: "bwrap", resourceClass: "cpu", maxConcurrent: 1 } }, autoApprove: true }, meta);
    await agents(agentSubject(id), { kind: "blacklist", by: "operator", reason: `forged ${nasty}` }, meta);
    await agents(agentSubject("agent-after"), { kind: "register", profile: { mode: "worker", capabilities: { models: [], languages: ["python"], sandbox: "bwrap", resourceClass: "cpu", maxConcurrent: 1 } }, autoApprove: true }, meta);
    await settle();
    const rows = (await db.pool.query("SELECT agent_id, status, name, reason, state FROM agents ORDER BY agent_id")).rows;
    expect(rows.map((r) => [r.agent_id, r.status])).toEqual([["agent-after", "approved"], ["agent-nul", "blacklisted"]]);
    expect(rows[1].name).toBe(shown);
    expect(rows[1].state.profile.name).toBe(nasty);
    expect(rows[1].state.reason).toBe(`forged ${nasty}`);
  });

  it("a credit reason with a NUL is recorded in the history, the balance moves", async () => {
    const credits = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(signer) });
    await credits(creditSubject("alice"), { kind: "earn", amount: 5000, reason: nasty }, meta);
    await credits(creditSubject("alice"), { kind: "spend", amount: 1000, reason: "ok" }, meta);
    await settle();
    expect((await db.pool.query("SELECT available FROM credit_accounts WHERE account_id = 'alice'")).rows[0].available).toBe(4000);
    expect((await db.pool.query("SELECT reason FROM credit_transactions WHERE account_id = 'alice' ORDER BY seq")).rows.map((r) => r.reason)).toEqual([
      shown,
      "ok",
    ]);
  });
});

describe("a commit the database refuses for its content", () => {
  it("is quarantined with the database's reason, the projection goes on, and a rebuild does the same", async () => {
    const tasks = commandHandler({ store, decider: taskDecider, registry: taskEvents, sealer: inlineSealer(signer) });
    // Year 0 passes the envelope's ISO check but is outside every Postgres timestamp.
    const poison = sealEvent(signer, {
      id: randomUUID(),
      type: "task.submitted",
      subject: taskSubject("poison"),
      data: { prompt: "p", language: "python", submitter: "mallory", priority: 50, resourceClass: "cpu", sandboxRequired: true },
      time: "0000-01-01T00:00:00.000Z",
      schemaVersion: 1,
    });
    await store.append(taskSubject("poison"), [poison], "any");
    await tasks(taskSubject("after-poison"), { kind: "submit", request: { prompt: "next", language: "python", submitter: "bob", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, meta);
    await settle();

    const quarantined = (await db.pool.query("SELECT seq, event_id, reason FROM projection_quarantine WHERE projection = 'tasks'")).rows;
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0].event_id).toBe(poison.id);
    expect(quarantined[0].reason).toMatch(/^cannot be stored: 22008 .*out of range/);
    expect((await db.pool.query("SELECT task_id, status FROM tasks WHERE task_id IN ('poison', 'after-poison')")).rows).toEqual([{ task_id: "after-poison", status: "submitted" }]);

    // An event no one can have signed: a lone surrogate has no canonical form.
    const unsignable = { ...poison, id: randomUUID(), subject: taskSubject("unsignable"), time: now.toISOString(), data: { ...poison.data, prompt: "x\ud800" } };
    await store.append(taskSubject("unsignable"), [unsignable], "any");
    await tasks(taskSubject("after-unsignable"), { kind: "submit", request: { prompt: "next", language: "python", submitter: "bob", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, meta);
    await settle();
    expect((await db.pool.query("SELECT event_id, reason FROM projection_quarantine WHERE projection = 'tasks' ORDER BY seq")).rows.map((r) => r.event_id)).toEqual([poison.id, unsignable.id]);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM tasks WHERE task_id = 'after-unsignable'")).rows[0].n).toBe(1);

    const tables = [...tasksProjector.tables, "projection_checkpoints", "projection_quarantine"];
    const strip = (snap: Record<string, unknown[]>) => ({ ...snap, projection_quarantine: snap.projection_quarantine!.map((r) => ({ ...(r as object), id: 0, quarantined_at: 0 })) });
    const before = strip(await snapshotTables(db.pool, tables));
    const rebuilt = await rebuildProjection(tasksProjector, { store, pool: db.pool, log: silent, batchSize: 4 });
    expect(rebuilt.quarantined).toBe(2);
    expect(strip(await snapshotTables(db.pool, tables))).toEqual(before);
  });
});
