import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

describe("the escalation waterfall on a running node", () => {
  let t: TestNode;
  /** What the model writes when asked to fix failed code in escalation. */
  let escalationAnswer = "```python\nprint(42)\n```";
  beforeAll(async () => {
    // One local try: the first failure escalates.
    t = await startTestNode({ maxAttempts: 1 });
    t.model.answer = (prompt) => {
      if (prompt.includes("JSON array")) return JSON.stringify([{ input: "print the answer", language: "python" }]);
      if (prompt.startsWith("You fix")) return escalationAnswer;
      return "```python\nprint(undefined_name)\n```"; // the worker's model never gets it right
    };
  }, 120_000);
  afterAll(async () => t?.close());

  const submit = async () => (await t.admin("POST", "/submit", { prompt: "print the answer", language: "python" })).body.taskId as string;
  const finished = (taskId: string) =>
    eventually(
      `task ${taskId} to finish`,
      async () => {
        const r = await t.admin("GET", `/tasks/${taskId}/result`);
        return r.body.done ? r.body : undefined;
      },
      60_000,
    ).catch(async (err: unknown) => {
      const rows = await t.db.pool.query("SELECT subtask_id, status, attempts, state FROM subtasks WHERE task_id = $1", [taskId]);
      throw new Error(`${String(err)}\n${JSON.stringify(rows.rows)}\n${t.logs.slice(-30).join("\n")}`);
    });
  const eventTypes = async (subject: string) => {
    const { commits } = await (await createEventStore(await t.nats.connect("reader"))).readAggregate(subject);
    return commits.flatMap((c) => (JSON.parse(new TextDecoder().decode(c.data)) as { type: string }[]).map((e) => e.type));
  };

  it("a failed subtask is fixed by the inference service's model, checked in the sandbox, and the task completes", async () => {
    escalationAnswer = "```python\nprint(42)\n```";
    const taskId = await submit();
    const result = await finished(taskId);
    expect(result.status).toBe("completed");
    expect(result.code).toContain("print(42)");
    expect(result.output).toContain("42\n");
    expect(await eventTypes(`ec.tasks.subtask.${taskId}-0`)).toEqual(["subtask.queued", "subtask.assigned", "subtask.failed", "subtask.escalated", "subtask.resolved"]);
  }, 90_000);

  it("when no step helps, a person sees the escalation, answers it, and the task completes with their code", async () => {
    escalationAnswer = "```python\nprint(still_undefined)\n```";
    const taskId = await submit();
    const subtaskId = `${taskId}-0`;
    const listed = await eventually("the escalation to wait for a person", async () => {
      const r = await t.admin("GET", "/escalate");
      return (r.body.escalations as { subtaskId: string; status: string; tried: string[] }[]).find((e) => e.subtaskId === subtaskId && e.status === "awaitingHuman");
    });
    expect(listed.tried).toEqual(["inference"]);
    const answered = await t.admin("POST", `/escalate/${subtaskId}/result`, { code: "print(1 + 1)", output: "2\n", by: "alice" });
    expect(answered.status).toBe(200);
    const result = await finished(taskId);
    expect(result.status).toBe("completed");
    expect(result.code).toContain("print(1 + 1)");
    expect(await eventTypes(`ec.tasks.subtask.${subtaskId}`)).toEqual([
      "subtask.queued",
      "subtask.assigned",
      "subtask.failed",
      "subtask.escalated",
      "subtask.escalationTried",
      "subtask.awaitingHuman",
      "subtask.resolved",
    ]);
    // Answered once: a second answer is refused.
    expect((await t.admin("POST", `/escalate/${subtaskId}/result`, { code: "print(3)" })).status).toBe(409);
  }, 90_000);

  it("a person may give up on it instead: the task fails naming why", async () => {
    escalationAnswer = "```python\nprint(still_undefined)\n```";
    const taskId = await submit();
    const subtaskId = `${taskId}-0`;
    await eventually("the escalation to wait for a person", async () => {
      const r = await t.admin("GET", `/escalate/${subtaskId}`);
      return r.body.status === "awaitingHuman" ? true : undefined;
    });
    expect((await t.admin("POST", `/escalate/${subtaskId}/result`, { abandon: "the task makes no sense" })).status).toBe(200);
    const result = await finished(taskId);
    expect(result.status).toBe("failed");
    expect(result.reason).toContain("the task makes no sense");
  }, 90_000);
});
