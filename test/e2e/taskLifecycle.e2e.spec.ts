import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verificationPool } from "../../src/adapters/crypto/verificationPool.js";
import { auditLedger } from "../../src/adapters/ledger/audit.js";
import { createEventStore, type EventStore } from "../../src/adapters/nats/eventStore.js";

/** The event types the ledger recorded for a task and its subtasks. */
async function chainedEventTypes(store: EventStore, taskId: string): Promise<string[]> {
  const types: string[] = [];
  for await (const c of store.read("EC_LEDGER", { subjects: "ec.ledger.chain", toSeq: await store.lastSeqOf("EC_LEDGER", "ec.ledger.chain") })) {
    for (const r of JSON.parse(new TextDecoder().decode(c.data)) as { data: { taskId?: string; eventType: string } }[]) {
      if (r.data.taskId === taskId) types.push(r.data.eventType);
    }
  }
  return types;
}
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { scrape } from "../support/prometheus.js";

/** Decomposition prompts ask for a JSON array; code prompts for one program. */
function modelAnswers(prompt: string): string {
  if (prompt.includes("JSON array") && prompt.includes("a NUL")) return JSON.stringify([{ input: "print a NUL between a and b", language: "python" }]);
  if (prompt.includes("a NUL")) return '```python\nprint("a" + chr(0) + "b")\n```';
  if (prompt.includes("JSON array") && prompt.includes("count down")) return JSON.stringify([{ input: "count down from 3", language: "javascript" }]);
  if (prompt.includes("count down")) return "```javascript\nfor (let i = 3; i > 0; i--) console.log(i);\n```";
  if (prompt.includes("JSON array")) {
    return JSON.stringify([
      { input: "print the sum of 2 and 3", language: "python" },
      { input: "print the word hello", language: "python" },
    ]);
  }
  if (prompt.includes("the word hello")) return "Here it is:\n```python\nprint('hello')\n```";
  return "```python\nprint(2 + 3)\n```";
}

describe("one node runs a coding task end to end", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    t.model.answer = modelAnswers;
  }, 120_000);
  afterAll(async () => t?.close());

  it("a prompt goes in; code comes out having run in bwrap; events and projections agree", async () => {
    const submitted = await t.admin("POST", "/submit", { prompt: "print 5 and then hello", language: "python" });
    expect(submitted.status).toBe(202);
    const taskId = submitted.body.taskId as string;

    const result = await eventually(
      "the task to finish",
      async () => {
        const r = await t.admin("GET", `/tasks/${taskId}/result`);
        return r.status === 200 && r.body.done ? r.body : undefined;
      },
      40_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nnode log:\n${t.logs.slice(-40).join("\n")}`);
    });
    expect(result.status, JSON.stringify({ result, logs: t.logs.slice(-30) })).toBe("completed");
    expect(result.code).toContain("print(2 + 3)");
    expect(result.code).toContain("print('hello')");
    expect(result.output).toMatch(/# part 1: print the sum of 2 and 3\n5\n/);
    expect(result.output).toMatch(/# part 2: print the word hello\nhello\n/);

    // A new agent's results are all checked: the coordinator ran each one's code and saw the same.
    expect(result.checked).toBe(true);
    expect(result.subtasks).toEqual([
      { subtaskId: `${taskId}-0`, index: 0, checked: true },
      { subtaskId: `${taskId}-1`, index: 1, checked: true },
    ]);

    // The events tell the same story as the projection: each subtask queued, assigned, reported and checked once.
    const nc = await t.nats.connect("e2e-reader");
    const store = await createEventStore(nc);
    const types: Record<string, string[]> = {};
    for (const i of [0, 1]) {
      const { commits } = await store.readAggregate(`ec.tasks.subtask.${taskId}-${i}`);
      types[i] = commits.flatMap((c) => (JSON.parse(new TextDecoder().decode(c.data)) as { type: string }[]).map((e) => e.type));
      expect(types[i]).toEqual(["subtask.queued", "subtask.assigned", "subtask.reported", "subtask.checkPassed"]);
    }
    const rows = await t.db.pool.query("SELECT subtask_id, status, agent_id FROM subtasks WHERE task_id = $1 ORDER BY index", [taskId]);
    expect(rows.rows.map((r) => r.status)).toEqual(["completed", "completed"]);
    const agents = await t.db.pool.query("SELECT agent_id, status FROM agents");
    expect(agents.rows).toHaveLength(1);
    expect(agents.rows[0].status).toBe("approved");
    expect(rows.rows[0].agent_id).toBe(agents.rows[0].agent_id);

    const js = (await t.admin("POST", "/submit", { prompt: "count down from 3", language: "javascript" })).body.taskId as string;
    const jsResult = await eventually("the JavaScript task to finish", async () => {
      const r = await t.admin("GET", `/tasks/${js}/result`);
      return r.body.done ? r.body : undefined;
    });
    expect(jsResult.status).toBe("completed");
    expect(jsResult.code).toContain("// part 1: count down from 3\nfor (let i = 3");
    expect(jsResult.output).toContain("3\n2\n1\n");

    // The ordering ledger holds every one of these events, and an auditor finds nothing wrong.
    const verifier = verificationPool(2);
    try {
      const audit = await eventually("the ledger to cover the task's events", async () => {
        const a = await auditLedger({ store, verifier });
        const chained = new Set(a.leaves.length ? await chainedEventTypes(store, taskId) : []);
        return a.ok && chained.has("task.completed") ? a : undefined;
      });
      expect(audit.issue).toBeUndefined();
      expect(audit.records).toBeGreaterThanOrEqual(12);
    } finally {
      await verifier.close();
    }

    const list = await t.admin("GET", "/tasks");
    expect((list.body.tasks as { taskId: string; status: string }[]).find((x) => x.taskId === taskId)?.status).toBe("completed");

    // /metrics shows the worker's own work (over its IPC channel) beside the node's result checks.
    const samples = await scrape(t.node.coordinatorUrl);
    const total = (name: string, want: Record<string, string>) =>
      samples.filter((x) => x.name === name && Object.entries(want).every(([k, v]) => x.labels[k] === v)).reduce((n, x) => n + x.value, 0);
    expect(total("ec_sandbox_runs_total", { mode: "bwrap", outcome: "passed", process: "worker" })).toBeGreaterThanOrEqual(3);
    expect(total("ec_model_calls_total", { outcome: "ok", process: "worker" })).toBeGreaterThanOrEqual(3);
    expect(total("ec_model_call_duration_seconds_count", { outcome: "ok", process: "worker" })).toBeGreaterThanOrEqual(3);
    // The coordinator checked every result of the new agent itself: runs with no process label.
    expect(samples.filter((x) => x.name === "ec_sandbox_runs_total" && x.labels.process === undefined).reduce((n, x) => n + x.value, 0)).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it("a program's output is data: a NUL it prints comes back exactly, and the projection goes on", async () => {
    const taskId = (await t.admin("POST", "/submit", { prompt: "print a NUL between a and b", language: "python" })).body.taskId as string;
    const result = await eventually("the task to finish", async () => {
      const r = await t.admin("GET", `/tasks/${taskId}/result`);
      return r.status === 200 && r.body.done ? r.body : undefined;
    }, 40_000);
    expect(result.status).toBe("completed");
    expect(result.output).toContain("a\u0000b\n");
    const next = (await t.admin("POST", "/submit", { prompt: "print 5 and then hello", language: "python" })).body.taskId as string;
    const after = await eventually("the next task to finish", async () => {
      const r = await t.admin("GET", `/tasks/${next}/result`);
      return r.status === 200 && r.body.done ? r.body : undefined;
    }, 40_000);
    expect(after.status).toBe("completed");
    expect((await t.db.pool.query("SELECT count(*)::int AS n FROM projection_quarantine")).rows[0].n).toBe(0);
  }, 120_000);
});

describe("the node's own worker", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    t.model.answer = modelAnswers;
  }, 120_000);
  afterAll(async () => t?.close());

  it("is started again when it dies, and goes on taking work", async () => {
    await eventually("the worker to register", async () => (t.logs.some((l) => l.includes("worker: registered")) ? true : undefined));
    const first = t.node.workerPids().at(-1)!;
    process.kill(first, "SIGKILL");
    await eventually("a new worker process", async () => (t.node.workerPids().length === 2 ? true : undefined));
    expect(t.logs.some((l) => l.includes("worker exited (SIGKILL); restarting"))).toBe(true);
    const taskId = (await t.admin("POST", "/submit", { prompt: "print 5 and then hello" })).body.taskId as string;
    const result = await eventually("the task to finish", async () => {
      const r = await t.admin("GET", `/tasks/${taskId}/result`);
      return r.body.done ? r.body : undefined;
    });
    expect(result.status).toBe("completed");
  }, 90_000);
});

describe("a node without a model", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({}, { models: [] });
  }, 120_000);
  afterAll(async () => t?.close());

  it("fails a submitted task naming the missing model, and its worker takes no code work", async () => {
    const taskId = (await t.admin("POST", "/submit", { prompt: "print 1" })).body.taskId as string;
    const result = await eventually("the task to fail", async () => {
      const r = await t.admin("GET", `/tasks/${taskId}/result`);
      return r.body.done ? r.body : undefined;
    });
    expect(result.status).toBe("failed");
    expect(result.reason).toMatch(/^decomposition failed: no model qwen2\.5-coder:1\.5b reachable/);
    await eventually("the worker to say it has no model", async () => (t.logs.some((l) => /no model qwen2\.5-coder:1\.5b reachable .*taking no code work/.test(l)) ? true : undefined));
    // It says so before it registers: the registration (with no models) follows.
    const capabilities = await eventually("the worker's registration", async () => (await t.db.pool.query("SELECT capabilities FROM agents")).rows[0]?.capabilities);
    expect(capabilities.models).toEqual([]);
  }, 60_000);
});
