import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { startTaskFlow, type TaskFlow } from "../../src/adapters/events/taskFlow.js";
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
    flows.push(await startTaskFlow({ nc, store: await createEventStore(nc), sealer: inlineSealer(newSigner()) }));
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
