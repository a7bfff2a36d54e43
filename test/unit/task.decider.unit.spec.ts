import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { taskChecked, taskDecider, taskResult, type Task } from "../../src/domain/tasks/task.js";
import type { TaskEvent } from "../../src/domain/tasks/taskEvents.js";
import { given } from "../support/decider.js";

const request = { prompt: "add two numbers and print the sum", language: "python" as const, submitter: "alice", priority: 50, resourceClass: "cpu" as const, sandboxRequired: true };
const plan = [
  { subtaskId: "t1-0", index: 0, input: "write add(a, b)", language: "python" as const, timeoutMs: 5_000 },
  { subtaskId: "t1-1", index: 1, input: "print add(2, 3)", language: "python" as const, timeoutMs: 5_000 },
];
const submitted: TaskEvent = { type: "task.submitted", data: request };
const decomposed: TaskEvent = { type: "task.decomposed", data: { subtasks: plan, parsed: true, model: "m" } };
const finished = (subtaskId: string, ok: boolean, error = "", checked = true): TaskEvent => ({ type: "task.subtaskFinished", data: { subtaskId, ok, error, checked } });
const result = (subtaskId: string, ok: boolean, error = "", checked = true) => ({ kind: "recordSubtaskResult" as const, subtaskId, ok, error, checked });
const fold = (events: TaskEvent[]): Task => events.reduce(taskDecider.evolve, taskDecider.initialState());

describe("task lifecycle", () => {
  it("is submitted once, then decomposed once", () => {
    given(taskDecider).when({ kind: "submit", request }).then([submitted]);
    given(taskDecider, [submitted]).when({ kind: "submit", request }).thenThrows("already_submitted");
    given(taskDecider, [submitted]).when({ kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }).then([decomposed]);
    given(taskDecider, [submitted, decomposed]).when({ kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }).thenThrows("not_submitted");
  });

  it("records a subtask's outcome, not its code or output (they stay on the subtask), and waits for the others", () => {
    given(taskDecider, [submitted, decomposed]).when(result("t1-1", true)).then([finished("t1-1", true)]);
  });

  it("completes when the last subtask finishes; its result is its subtasks' results combined in plan order", () => {
    given(taskDecider, [submitted, decomposed, finished("t1-1", true)])
      .when(result("t1-0", true))
      .then([finished("t1-0", true), { type: "task.completed", data: {} }]);
    const done = fold([submitted, decomposed, finished("t1-1", true), finished("t1-0", true), { type: "task.completed", data: {} }]);
    expect(
      taskResult(done, {
        "t1-0": { code: "def add(a, b): return a + b", output: "defined add\n", stderr: "" },
        "t1-1": { code: "print(add(2, 3))", output: "5\n", stderr: "" },
      }),
    ).toEqual({
      output: "# part 1: write add(a, b)\ndefined add\n\n# part 2: print add(2, 3)\n5\n",
      code: "# part 1: write add(a, b)\ndef add(a, b): return a + b\n\n# part 2: print add(2, 3)\nprint(add(2, 3))",
    });
    expect(taskChecked(done)).toBe(true);
  });

  it("says a result was not all checked when one subtask's was taken on trust", () => {
    const done = fold([submitted, decomposed, finished("t1-1", true, "", false), finished("t1-0", true), { type: "task.completed", data: {} }]);
    expect(taskChecked(done)).toBe(false);
  });

  it("shows a task completed before results moved to the subtasks as it was recorded", () => {
    const legacy = fold([
      submitted,
      decomposed,
      { type: "task.subtaskFinished", data: { subtaskId: "t1-0", ok: true, error: "", code: "a", output: "1\n" } },
      { type: "task.subtaskFinished", data: { subtaskId: "t1-1", ok: true, error: "", code: "b", output: "2\n" } },
      { type: "task.completed", data: { output: "# part 1\n1\n", code: "a" } },
    ]);
    expect(taskResult(legacy, {})).toEqual({ output: "# part 1\n1\n", code: "a" });
    expect(taskChecked(legacy)).toBe(false);
  });

  it("fails when a subtask finished without success, naming it", () => {
    given(taskDecider, [submitted, decomposed, finished("t1-0", true)])
      .when(result("t1-1", false, "NameError: add"))
      .then([finished("t1-1", false, "NameError: add"), { type: "task.failed", data: { reason: "subtask(s) 2 failed: NameError: add" } }]);
  });

  it("refuses results for unknown subtasks, twice for one subtask, or before decomposition", () => {
    given(taskDecider, [submitted, decomposed]).when(result("t9-0", true)).thenThrows("unknown_subtask");
    given(taskDecider, [submitted, decomposed, finished("t1-0", true)]).when(result("t1-0", true)).thenThrows("already_finished");
    given(taskDecider, [submitted]).when(result("t1-0", true)).thenThrows("not_running");
  });

  it("fails before running when no plan can be made, and not once it runs", () => {
    given(taskDecider, [submitted])
      .when({ kind: "failDecomposition", reason: "no model reachable" })
      .then([{ type: "task.failed", data: { reason: "no model reachable" } }]);
    given(taskDecider, [submitted, decomposed]).when({ kind: "failDecomposition", reason: "late" }).thenThrows("not_submitted");
    given(taskDecider).when({ kind: "failDecomposition", reason: "nothing" }).thenThrows("not_submitted");
  });

  it("is failed by its flow when a step can never succeed, but not once it has ended", () => {
    given(taskDecider, [submitted, decomposed]).when({ kind: "abort", reason: "events too large" }).then([{ type: "task.failed", data: { reason: "events too large" } }]);
    given(taskDecider, [submitted, decomposed, finished("t1-0", true), finished("t1-1", true), { type: "task.completed", data: {} } as TaskEvent])
      .when({ kind: "abort", reason: "late" })
      .thenThrows("not_running");
  });
});

describe("a refuted result", () => {
  const completed = [submitted, decomposed, finished("t1-0", true, "", false), finished("t1-1", true), { type: "task.completed", data: {} } as TaskEvent];
  const reopened: TaskEvent = { type: "task.subtaskReopened", data: { subtaskId: "t1-0", reason: "output differs" } };

  it("reopens its subtask, of a running or an ended task, which then runs until it finishes again", () => {
    given(taskDecider, completed).when({ kind: "reopenSubtask", subtaskId: "t1-0", reason: "output differs" }).then([reopened]);
    const again = fold([...completed, reopened]);
    expect(again).toMatchObject({ status: "running", finished: { "t1-1": { ok: true } } });
    expect((again as { finished: object }).finished).not.toHaveProperty("t1-0");
    given(taskDecider, [...completed, reopened]).when(result("t1-0", true)).then([finished("t1-0", true), { type: "task.completed", data: {} }]);
    given(taskDecider, [submitted, decomposed, finished("t1-0", true)]).when({ kind: "reopenSubtask", subtaskId: "t1-0", reason: "x" }).then([
      { type: "task.subtaskReopened", data: { subtaskId: "t1-0", reason: "x" } },
    ]);
  });

  it("reopens a subtask once: again, or one not finished, is refused as done", () => {
    given(taskDecider, [...completed, reopened]).when({ kind: "reopenSubtask", subtaskId: "t1-0", reason: "again" }).thenThrows("subtask_not_finished");
    given(taskDecider, [submitted, decomposed]).when({ kind: "reopenSubtask", subtaskId: "t1-0", reason: "x" }).thenThrows("subtask_not_finished");
    given(taskDecider, [submitted]).when({ kind: "reopenSubtask", subtaskId: "t1-0", reason: "x" }).thenThrows("not_running");
  });

  it("given any order of outcomes and reopenings, a task is completed exactly when every subtask's last word is a success", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("result" as const), subtaskId: fc.constantFrom("t1-0", "t1-1"), ok: fc.boolean() }),
      fc.record({ kind: fc.constant("reopen" as const), subtaskId: fc.constantFrom("t1-0", "t1-1") }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        let history: TaskEvent[] = [submitted, decomposed];
        const last: Record<string, boolean | undefined> = {};
        for (const s of steps) {
          const state = fold(history);
          let events: readonly TaskEvent[];
          try {
            events = taskDecider.decide(s.kind === "result" ? result(s.subtaskId, s.ok) : { kind: "reopenSubtask", subtaskId: s.subtaskId, reason: "x" }, state);
          } catch {
            continue;
          }
          history = [...history, ...events];
          if (s.kind === "result") last[s.subtaskId] = s.ok;
          else delete last[s.subtaskId];
        }
        const state = fold(history);
        const allDone = plan.every((p) => last[p.subtaskId] !== undefined);
        if (!allDone) expect(state.status).toBe("running");
        else if (plan.every((p) => last[p.subtaskId] === true)) expect(state.status).toBe("completed");
        else expect(state.status).toBe("failed");
      }),
    );
  });
});
