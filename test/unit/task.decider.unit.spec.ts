import { describe, it } from "vitest";
import { taskDecider } from "../../src/domain/tasks/task.js";
import type { TaskEvent } from "../../src/domain/tasks/taskEvents.js";
import { given } from "../support/decider.js";

const request = { prompt: "add two numbers and print the sum", language: "python" as const, submitter: "alice", priority: 50, resourceClass: "cpu" as const, sandboxRequired: true };
const plan = [
  { subtaskId: "t1-0", index: 0, input: "write add(a, b)", language: "python" as const, timeoutMs: 5_000 },
  { subtaskId: "t1-1", index: 1, input: "print add(2, 3)", language: "python" as const, timeoutMs: 5_000 },
];
const submitted: TaskEvent = { type: "task.submitted", data: request };
const decomposed: TaskEvent = { type: "task.decomposed", data: { subtasks: plan, parsed: true, model: "m" } };
const codeOf = (subtaskId: string) => `code_of(${JSON.stringify(subtaskId)})`;
const finished = (subtaskId: string, ok: boolean, output = "", error = ""): TaskEvent => ({ type: "task.subtaskFinished", data: { subtaskId, ok, code: codeOf(subtaskId), output, error } });
const result = (subtaskId: string, ok: boolean, output = "", error = "") => ({ kind: "recordSubtaskResult" as const, subtaskId, ok, code: codeOf(subtaskId), output, error });

describe("task lifecycle", () => {
  it("is submitted once, then decomposed once", () => {
    given(taskDecider).when({ kind: "submit", request }).then([submitted]);
    given(taskDecider, [submitted]).when({ kind: "submit", request }).thenThrows("already_submitted");
    given(taskDecider, [submitted]).when({ kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }).then([decomposed]);
    given(taskDecider, [submitted, decomposed]).when({ kind: "recordDecomposition", subtasks: plan, parsed: true, model: "m" }).thenThrows("not_submitted");
  });

  it("records a subtask's result and waits for the others", () => {
    given(taskDecider, [submitted, decomposed]).when(result("t1-1", true, "5\n")).then([finished("t1-1", true, "5\n")]);
  });

  it("completes when the last subtask finishes, with the results combined in plan order", () => {
    given(taskDecider, [submitted, decomposed, finished("t1-1", true, "5\n")])
      .when(result("t1-0", true, "defined add\n"))
      .then([
        finished("t1-0", true, "defined add\n"),
        {
          type: "task.completed",
          data: {
            output: "# part 1: write add(a, b)\ndefined add\n\n# part 2: print add(2, 3)\n5\n",
            code: '# part 1: write add(a, b)\ncode_of("t1-0")\n\n# part 2: print add(2, 3)\ncode_of("t1-1")',
          },
        },
      ]);
  });

  it("fails when a subtask finished without success, naming it", () => {
    given(taskDecider, [submitted, decomposed, finished("t1-0", true, "ok")])
      .when(result("t1-1", false, "", "NameError: add"))
      .then([finished("t1-1", false, "", "NameError: add"), { type: "task.failed", data: { reason: "subtask(s) 2 failed: NameError: add" } }]);
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
    given(taskDecider, [submitted, decomposed]).when({ kind: "failDecomposition", reason: "late" }).thenThrows("not_finished");
    given(taskDecider).when({ kind: "failDecomposition", reason: "nothing" }).thenThrows("not_finished");
  });
});
