import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler, type CommandMeta, type HandledCommand } from "../../src/adapters/events/commandHandler.js";
import { creditAccountDecider, creditSubject, type CreditCommand } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { subtaskDecider, subtaskSubject, type SubtaskCommand } from "../../src/domain/tasks/subtask.js";
import { subtaskEvents } from "../../src/domain/tasks/subtaskEvents.js";
import { taskDecider, taskSubject, type TaskCommand } from "../../src/domain/tasks/task.js";
import { taskEvents } from "../../src/domain/tasks/taskEvents.js";
import { creditRoutes } from "../../src/gateways/controlPlane/creditRoutes.js";
import { escalationRoutes } from "../../src/gateways/coordinator/escalationRoutes.js";
import { taskRoutes } from "../../src/gateways/coordinator/taskRoutes.js";
import { gatewayApp } from "../../src/gateways/gatewayApp.js";
import { encodeCursor } from "../../src/gateways/paging.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import { startLiveProjection, type LiveProjection } from "../../src/projections/live.js";
import { tasksProjector } from "../../src/projections/tasks/tasksProjector.js";
import { creditEarned, newSigner } from "../support/events.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";

/**
 * Every list is paged by a cursor: walking it page by page serves each row once, also while
 * rows are added between pages (tasks and credit history newest first, escalations oldest first).
 */
let h: ProjectionHarness;
let balances: LiveProjection;
let app: FastifyInstance;
const sealer = inlineSealer(newSigner());
type Handle<C> = (subject: string, command: C, meta: CommandMeta) => Promise<HandledCommand>;
let tasks: Handle<TaskCommand>;
let subtasks: Handle<SubtaskCommand>;
let credits: Handle<CreditCommand>;
const meta = () => ({ now: new Date() });
const silent = { quarantined: () => undefined };

beforeAll(async () => {
  h = await startProjectionHarness(tasksProjector);
  balances = startLiveProjection(balancesProjector, { store: h.store, pool: h.db.pool, log: silent });
  tasks = commandHandler({ store: h.store, decider: taskDecider, registry: taskEvents, sealer });
  subtasks = commandHandler({ store: h.store, decider: subtaskDecider, registry: subtaskEvents, sealer });
  credits = commandHandler({ store: h.store, decider: creditAccountDecider, registry: creditEvents, sealer });
  app = await gatewayApp({ service: "lists", bodyLimit: 64 * 1024 });
  await app.register(taskRoutes, { pool: h.db.pool, handleTask: tasks, handleCredit: credits, defaultModel: "qwen2.5-coder:1.5b" });
  await app.register(escalationRoutes, { pool: h.db.pool, handleSubtask: subtasks });
  await app.register(creditRoutes, { pool: h.db.pool, handleCredit: credits });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await balances?.stop();
  await h?.close();
});

const get = async (url: string) => {
  const r = await app.inject({ url });
  return { status: r.statusCode, body: r.json() as Record<string, unknown> };
};
const settle = async () => {
  await h.settle("EC_TASKS");
  await balances.waitFor("EC_CREDITS", await h.store.lastSeq("EC_CREDITS"));
};

/** Walks a list with `limit` per page, calling `between` after each page; the ids in the order served. */
async function walk(path: (cursor: string | undefined) => string, rowsOf: (body: Record<string, unknown>) => string[], between: () => Promise<void>) {
  const seen: string[] = [];
  let next: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await get(path(next));
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    seen.push(...rowsOf(page.body));
    await between();
    if (page.body.next === null) return seen;
    next = page.body.next as string;
  }
  throw new Error("the walk did not end");
}

let submitted = 0;
const submit = () => tasks(taskSubject(`paged-${submitted++}`), { kind: "submit", request: { prompt: "p", language: "python", submitter: "alice", priority: 50, resourceClass: "cpu", sandboxRequired: true } }, meta());

describe("paged lists", () => {
  it("GET /tasks walks every task once, newest first, while tasks are submitted between pages", async () => {
    for (let i = 0; i < 11; i++) await submit();
    await settle();
    const existing = ((await get("/tasks?limit=200")).body.tasks as { taskId: string }[]).map((t) => t.taskId);
    expect(existing).toHaveLength(11);
    const seen = await walk(
      (c) => `/tasks?limit=3${c ? `&before=${c}` : ""}`,
      (b) => (b.tasks as { taskId: string }[]).map((t) => t.taskId),
      async () => {
        await submit();
        await settle();
      },
    );
    expect(seen).toEqual(existing);
    const running = await get("/tasks?status=submitted&limit=2");
    expect(running.body.next).toEqual(expect.any(String));
  });

  it("GET /escalate walks every escalation once, oldest first, while subtasks are escalated between pages", async () => {
    let n = 0;
    const escalate = async () => {
      const id = `esc-${n++}-0`;
      const s = subtaskSubject(id);
      const spec = { taskId: `esc-${n}`, index: 0, input: "x", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 1 };
      await subtasks(s, { kind: "queue", spec }, meta());
      await subtasks(s, { kind: "assign", agentId: "a1", leaseId: "l1", leaseMs: 60_000, now: new Date() }, meta());
      await subtasks(s, { kind: "report", agentId: "a1", leaseId: "l1", now: new Date(), ok: false, output: "", stderr: "boom", durationMs: 1 }, meta());
    };
    for (let i = 0; i < 7; i++) await escalate();
    await settle();
    const existing = ((await get("/escalate?limit=200")).body.escalations as { subtaskId: string; status: string }[]).map((e) => e.subtaskId);
    expect(existing).toHaveLength(7);
    const seen = await walk(
      (c) => `/escalate?limit=2${c ? `&after=${c}` : ""}`,
      (b) => (b.escalations as { subtaskId: string }[]).map((e) => e.subtaskId),
      async () => {
        await escalate();
        await settle();
      },
    );
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, existing.length)).toEqual(existing);
    // Those escalated during the walk come at its end, each once.
    expect(seen.length).toBeGreaterThan(existing.length);
  });

  it("GET /credits/:id/history walks every transaction once, also within one commit, while transactions are added", async () => {
    const account = creditSubject("paged-account");
    for (let i = 1; i <= 5; i++) await credits(account, { kind: "earn", amount: i, reason: `r${i}` }, meta());
    // One commit of four transactions, all at one stream sequence: pages of four end inside it.
    const signer = newSigner();
    await h.store.append(account, [1, 2, 3, 4].map((a) => creditEarned(signer, account, a)), await h.store.lastSeqOf("EC_CREDITS", account));
    await settle();
    const existing = ((await get("/credits/paged-account/history?limit=500")).body.transactions as { eventId: string; seq: string }[]).map((t) => t.eventId);
    expect(existing).toHaveLength(9);
    const seen = await walk(
      (c) => `/credits/paged-account/history?limit=3${c ? `&before=${c}` : ""}`,
      (b) => (b.transactions as { eventId: string }[]).map((t) => t.eventId),
      async () => {
        await credits(account, { kind: "earn", amount: 1, reason: "meanwhile" }, meta());
        await settle();
      },
    );
    expect(seen).toEqual(existing);
    // The older form still pages by sequence.
    const older = await get("/credits/paged-account/history?limit=2&beforeSeq=999999");
    expect(older.status).toBe(200);
  });

  it("a cursor that is not the list's own is a 400 naming the field, and limits are bounded", async () => {
    const cases: [string, RegExp][] = [
      ["/tasks?before=bm9wZQ", /before/],
      [`/tasks?before=${encodeCursor(["2026-11-23T10:00:00Z", "t"])}`, /before/],
      [`/escalate?after=${encodeCursor(["1", "a.b"])}`, /after/],
      [`/credits/x/history?before=${encodeCursor(["12", "not-a-uuid"])}`, /before/],
      [`/credits/x/history?before=${encodeCursor(["12", "00000000-0000-4000-8000-000000000000"])}&beforeSeq=3`, /before or beforeSeq/],
      ["/tasks?limit=201", /limit/],
      ["/escalate?limit=0", /limit/],
    ];
    for (const [url, message] of cases) {
      const r = await get(url);
      expect({ url, status: r.status, message: r.body.message }).toEqual({ url, status: 400, message: expect.stringMatching(message) });
    }
  });
});
