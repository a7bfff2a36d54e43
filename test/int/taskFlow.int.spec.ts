import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { commandHandlers } from "../../src/app/commandHandlers.js";
import { startTaskFlow, type TaskFlow } from "../../src/app/flows/taskFlow.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { subtaskDecider, subtaskSubject } from "../../src/domain/tasks/subtask.js";
import { subtaskEvents } from "../../src/domain/tasks/subtaskEvents.js";
import { taskDecider, taskSubject } from "../../src/domain/tasks/task.js";
import { taskEvents } from "../../src/domain/tasks/taskEvents.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";

const signer = newSigner();
let nats: TestNats;
let store: EventStore;
const flows: TaskFlow[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  store = await createEventStore(await nats.connect("client"));
  // Two nodes, one durable consumer: each commit is handled by one of them.
  for (const name of ["node-a", "node-b"]) {
    const nc = await nats.connect(name);
    flows.push(await startTaskFlow(await flowOn(nc)));
  }
});
afterAll(async () => {
  for (const f of flows) await f.stop();
  await nats?.close();
});

async function eventTypes(subject: string): Promise<string[]> {
  const { commits } = await store.readAggregate(subject);
  return commits.flatMap((c) => (JSON.parse(Buffer.from(c.data).toString()) as { type: string }[]).map((e) => e.type));
}

async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

describe("task flow process manager", () => {
  it("queues a decomposed task's subtasks once each, and completes the task when its subtasks complete", async () => {
    const tasks = commandHandler({ store, decider: taskDecider, registry: taskEvents, sealer: inlineSealer(signer) });
    const subtasks = commandHandler({ store, decider: subtaskDecider, registry: subtaskEvents, sealer: inlineSealer(signer) });
    const now = new Date();
    const t = taskSubject("flow-1");
    await tasks(t, { kind: "submit", request: { prompt: "two parts", language: "python", submitter: "alice", priority: 70, resourceClass: "cpu", sandboxRequired: true } }, { now });
    const plan = [0, 1].map((index) => ({ subtaskId: `flow-1-${index}`, index, input: `part ${index}`, language: "python" as const, timeoutMs: 5_000 }));
    await tasks(t, { kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }, { now });

    for (const p of plan) {
      expect(await until(`${p.subtaskId} queued`, () => eventTypes(subtaskSubject(p.subtaskId)), (v) => v.length > 0)).toEqual(["subtask.queued"]);
    }
    const { commits } = await store.readAggregate(subtaskSubject("flow-1-1"));
    expect((JSON.parse(Buffer.from(commits[0]!.data).toString()) as { data: { priority: number; taskId: string } }[])[0]!.data).toMatchObject({ taskId: "flow-1", priority: 70 });

    for (const p of plan) {
      const s = subtaskSubject(p.subtaskId);
      await subtasks(s, { kind: "assign", agentId: "agent-1", leaseId: `lease-${p.index}`, leaseMs: 30_000, now: new Date() }, { now: new Date() });
      await subtasks(s, { kind: "report", agentId: "agent-1", leaseId: `lease-${p.index}`, now: new Date(), ok: true, output: `out ${p.index}\n`, stderr: "", durationMs: 5 }, { now: new Date() });
    }
    const types = await until("task completed", () => eventTypes(t), (v) => v.includes("task.completed"));
    expect(types).toEqual(["task.submitted", "task.decomposed", "task.subtaskFinished", "task.subtaskFinished", "task.completed"]);
    // Nothing was queued twice, whichever node handled which commit.
    for (const p of plan) expect((await eventTypes(subtaskSubject(p.subtaskId))).filter((x) => x === "subtask.queued")).toHaveLength(1);
  });
});

describe("a task's events whatever its subtasks reported", () => {
  it("fit the stream: ten subtasks each reporting the largest code and output complete their task, and each body is stored once", async () => {
    const tasks = commandHandler({ store, decider: taskDecider, registry: taskEvents, sealer: inlineSealer(signer) });
    const subtasks = commandHandler({ store, decider: subtaskDecider, registry: subtaskEvents, sealer: inlineSealer(signer) });
    const now = new Date();
    const t = taskSubject("big-1");
    await tasks(t, { kind: "submit", request: { prompt: "ten big parts", language: "python", submitter: "alice", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, { now });
    const plan = Array.from({ length: 10 }, (_, index) => ({ subtaskId: `big-1-${index}`, index, input: `part ${index}`, language: "python" as const, timeoutMs: 5_000 }));
    await tasks(t, { kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }, { now });
    // The largest a result's fields may be (256 KiB each): before, the task's completion held all
    // ten subtasks' code and output, far past the stream's 1 MiB message limit, and stayed running.
    const big = (c: string) => c.repeat(256 * 1024 - 16);
    for (const p of plan) {
      const s = subtaskSubject(p.subtaskId);
      await until(`${p.subtaskId} queued`, () => eventTypes(s), (v) => v.length > 0);
      await subtasks(s, { kind: "assign", agentId: "agent-1", leaseId: `lease-${p.index}`, leaseMs: 30_000, now: new Date() }, { now: new Date() });
      await subtasks(s, { kind: "report", agentId: "agent-1", leaseId: `lease-${p.index}`, now: new Date(), ok: true, code: big("c"), output: big("o"), stderr: "", durationMs: 5 }, { now: new Date() });
    }
    await until("task completed", () => eventTypes(t), (v) => v.includes("task.completed"));
    const { commits } = await store.readAggregate(t);
    const taskBytes = commits.reduce((n, c) => n + c.data.length, 0);
    // The task's own events hold outcomes only: a few kilobytes for ten results of half a megabyte.
    expect(taskBytes).toBeLessThan(16 * 1024);
  }, 60_000);

  it("a step its rules refuse every time (a stray subtask's result) is skipped, not retried for ever, and the task goes on", async () => {
    const errors: string[] = [];
    // This flow alone on the consumer, so the refusal is seen here.
    for (const f of flows.splice(0)) await f.stop();
    const nc = await nats.connect("flow-strict");
    const flow = await startTaskFlow({ ...(await flowOn(nc)), onError: (e) => errors.push(String(e)) });
    try {
      const tasks = commandHandler({ store, decider: taskDecider, registry: taskEvents, sealer: inlineSealer(signer) });
      const subtasks = commandHandler({ store, decider: subtaskDecider, registry: subtaskEvents, sealer: inlineSealer(signer) });
      const now = new Date();
      const t = taskSubject("stray-1");
      await tasks(t, { kind: "submit", request: { prompt: "p", language: "python", submitter: "alice", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, { now });
      await tasks(t, { kind: "recordDecomposition", subtasks: [{ subtaskId: "stray-1-0", index: 0, input: "x", language: "python", timeoutMs: 5_000 }], parsed: true, model: "m" }, { now });
      // A subtask named as if it were the task's second, which the task never planned, completes.
      const stray = subtaskSubject("stray-1-1");
      const spec = { taskId: "stray-1", index: 1, input: "y", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 3 };
      await subtasks(stray, { kind: "queue", spec }, { now });
      await subtasks(stray, { kind: "assign", agentId: "a", leaseId: "l1", leaseMs: 30_000, now }, { now });
      await subtasks(stray, { kind: "report", agentId: "a", leaseId: "l1", now, ok: true, output: "", stderr: "", durationMs: 1 }, { now });
      await until("the stray result refused", async () => errors.filter((e) => e.includes("unknown_subtask")).length, (n) => n > 0);
      // The planned subtask still completes the task.
      const real = subtaskSubject("stray-1-0");
      await until("stray-1-0 queued", () => eventTypes(real), (v) => v.length > 0);
      await subtasks(real, { kind: "assign", agentId: "a", leaseId: "l0", leaseMs: 30_000, now: new Date() }, { now: new Date() });
      await subtasks(real, { kind: "report", agentId: "a", leaseId: "l0", now: new Date(), ok: true, output: "", stderr: "", durationMs: 1 }, { now: new Date() });
      expect((await until("task completed", () => eventTypes(t), (v) => v.includes("task.completed"))).at(-1)).toBe("task.completed");
      await sleep(2_500);
      // Refused once, not redelivered for ever (a redelivery comes within a second).
      expect(errors.filter((e) => e.includes("unknown_subtask")).length).toBe(1);
    } finally {
      await flow.stop();
    }
  }, 30_000);
});

/** A task flow's parts as a node builds them: its own store, signer and the handlers from the list of contexts. */
async function flowOn(nc: Parameters<typeof createEventStore>[0]) {
  const store = await createEventStore(nc);
  return { nc, store, handlers: commandHandlers({ store, sealer: inlineSealer(newSigner()) }) };
}
