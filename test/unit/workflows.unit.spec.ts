import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { awaitPerson, failedTryOf, stepAnswered, stepsLeft, stepUnavailable, triesToShow } from "../../src/domain/escalation/waterfall.js";
import { afterDecompositionFailure, MAX_DECOMPOSE_DELIVERIES, recordPlan, submissionToPlan } from "../../src/domain/tasks/decompositionWorkflow.js";
import { subtaskDecider, type Subtask } from "../../src/domain/tasks/subtask.js";
import type { SubtaskEvent } from "../../src/domain/tasks/subtaskEvents.js";
import { taskDecider } from "../../src/domain/tasks/task.js";
import type { TaskEvent, TaskRequest } from "../../src/domain/tasks/taskEvents.js";
import { abortTask, reactToTaskEvent, refusedStep, taskFlowNeeds } from "../../src/domain/tasks/taskWorkflow.js";

const request: TaskRequest = { prompt: "sum two numbers", language: "python", submitter: "u1", priority: 70, resourceClass: "gpu", requestedModel: "qwen", sandboxRequired: true };
const planned = [
  { subtaskId: "t1-0", index: 0, input: "def add(a, b)", language: "python" as const, timeoutMs: 5_000 },
  { subtaskId: "t1-1", index: 1, input: "print(add(1, 2))", language: "python" as const, timeoutMs: 6_000 },
];
const decomposed: TaskEvent = { type: "task.decomposed", data: { subtasks: planned, parsed: true, model: "qwen" } };
const policy = { maxAttempts: 3 };

describe("the task flow", () => {
  it("given a decomposed task and its submission, when it reacts, then each planned subtask is queued with the task's settings", () => {
    expect(taskFlowNeeds(decomposed, { aggregateId: "t1", seq: 7 })).toBe("request");
    const commands = reactToTaskEvent(decomposed, { aggregateId: "t1", seq: 7 }, { request }, policy);
    expect(commands).toEqual(
      planned.map((p) => ({
        to: "subtask",
        id: p.subtaskId,
        commandId: `queue:${p.subtaskId}`,
        command: {
          kind: "queue",
          spec: { taskId: "t1", index: p.index, input: p.input, language: "python", timeoutMs: p.timeoutMs, priority: 70, resourceClass: "gpu", sandboxRequired: true, maxAttempts: 3, requestedModel: "qwen" },
        },
      })),
    );
    // Each queue command is one the subtask decider accepts on a new subtask.
    for (const c of commands) if (c.to === "subtask") expect(subtaskDecider.decide(c.command, subtaskDecider.initialState())).toHaveLength(1);
  });

  it("given a decomposed task whose submission could not be read, when it reacts, then nothing is queued", () => {
    expect(reactToTaskEvent(decomposed, { aggregateId: "t1", seq: 7 }, {}, policy)).toEqual([]);
  });

  it("given a subtask done, checked, resolved or abandoned, when it reacts, then its task records the outcome under an id naming the commit", () => {
    const at = { aggregateId: "t1-0", seq: 42 };
    const cases: [SubtaskEvent, { ok: boolean; error: string; checked: boolean }][] = [
      [{ type: "subtask.completed", data: { agentId: "a1", leaseId: "L1", output: "3", stderr: "", durationMs: 5 } }, { ok: true, error: "", checked: false }],
      [{ type: "subtask.resolved", data: { via: "cloud", by: "gpt", code: "x", output: "3" } }, { ok: true, error: "", checked: true }],
      [{ type: "subtask.abandoned", data: { by: "ops", reason: "no longer wanted" } }, { ok: false, error: "abandoned by ops: no longer wanted", checked: false }],
    ];
    for (const [event, outcome] of cases) {
      expect(taskFlowNeeds(event, at)).toBeUndefined();
      expect(reactToTaskEvent(event, at, {}, policy)).toEqual([{ to: "task", id: "t1", commandId: "finished:t1-0:42", command: { kind: "recordSubtaskResult", subtaskId: "t1-0", ...outcome } }]);
    }
  });

  it("given a refuted subtask, when it reacts, then its task waits for it again", () => {
    const refuted: SubtaskEvent = { type: "subtask.refuted", data: { agentId: "a1", leaseId: "L1", reason: "printed 4" } };
    expect(reactToTaskEvent(refuted, { aggregateId: "t1-0", seq: 50 }, {}, policy)).toEqual([
      { to: "task", id: "t1", commandId: "refuted:t1-0:50", command: { kind: "reopenSubtask", subtaskId: "t1-0", reason: "a later check refuted its result: printed 4" } },
    ]);
  });

  it("given a subtask whose id does not name its task, when it finishes, then the flow asks for the task id and uses it", () => {
    const done: SubtaskEvent = { type: "subtask.completed", data: { agentId: "a1", leaseId: "L1", output: "", stderr: "", durationMs: 1 } };
    const at = { aggregateId: "stray", seq: 3 };
    expect(taskFlowNeeds(done, at)).toBe("taskId");
    expect(reactToTaskEvent(done, at, {}, policy)).toEqual([]);
    expect(reactToTaskEvent(done, at, { taskId: "t9" }, policy)[0]).toMatchObject({ to: "task", id: "t9" });
  });

  it("ignores events that mean nothing to a task", () => {
    const assigned: SubtaskEvent = { type: "subtask.assigned", data: { agentId: "a1", leaseId: "L1", leaseExpiresAt: "2026-12-03T10:00:00.000Z", attempt: 1, assignedAt: "2026-12-03T09:59:00.000Z" } };
    expect(taskFlowNeeds(assigned, { aggregateId: "t1-0", seq: 1 })).toBeUndefined();
    expect(reactToTaskEvent(assigned, { aggregateId: "t1-0", seq: 1 }, {}, policy)).toEqual([]);
  });

  it("takes a refusal meaning 'done already' as success and skips any other", () => {
    for (const code of ["already_queued", "already_finished", "not_running", "subtask_not_finished"]) expect(refusedStep(code)).toBe("done");
    expect(refusedStep("unknown_subtask")).toBe("skip");
  });

  it("aborts a task once, with a reason the task decider accepts, however long the cause", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 5_000 }), (why) => {
        const cmd = abortTask("t1", why);
        expect(cmd.commandId).toBe("abort:t1");
        expect(cmd.command.kind === "abort" && cmd.command.reason.length).toBeLessThanOrEqual(2_000);
      }),
    );
  });
});

describe("the decomposer", () => {
  it("given a submitted task, when a plan comes, then the plan is recorded with ids derived from the task", () => {
    const submitted: TaskEvent = { type: "task.submitted", data: request };
    expect(submissionToPlan(submitted)).toEqual(request);
    expect(submissionToPlan(decomposed)).toBeUndefined();
    const cmd = recordPlan("t1", { subtasks: planned.map(({ subtaskId: _s, ...rest }) => rest), parsed: true, model: "qwen" });
    expect(cmd).toEqual({ to: "task", id: "t1", commandId: "plan:t1", command: { kind: "recordDecomposition", subtasks: planned, parsed: true, model: "qwen" } });
    const state = taskDecider.evolve(taskDecider.initialState(), submitted);
    expect(cmd.to === "task" && taskDecider.decide(cmd.command, state)).toEqual([decomposed]);
  });

  it("fails the task at once when there is no model, and only after a few deliveries when the service is unreachable", () => {
    expect(afterDecompositionFailure("t1", { noModel: true, message: "no model" }, 1)).toMatchObject({ commandId: "plan:t1", command: { kind: "failDecomposition", reason: "decomposition failed: no model" } });
    for (let d = 1; d < MAX_DECOMPOSE_DELIVERIES; d++) expect(afterDecompositionFailure("t1", { noModel: false, message: "ECONNREFUSED" }, d)).toBe("retry");
    expect(afterDecompositionFailure("t1", { noModel: false, message: "ECONNREFUSED" }, MAX_DECOMPOSE_DELIVERIES)).toMatchObject({ command: { kind: "failDecomposition" } });
  });
});

describe("the escalation waterfall", () => {
  const spec = { taskId: "t1", index: 0, input: "print(42)", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 1 };
  const now = new Date("2026-12-03T10:00:00.000Z");
  /** A subtask that failed its one local try and was escalated, folded with the decider's own rules. */
  function escalated(): { state: Subtask; history: SubtaskEvent[] } {
    let state = subtaskDecider.initialState();
    const history: SubtaskEvent[] = [];
    const run = (c: Parameters<typeof subtaskDecider.decide>[0]) => {
      for (const e of subtaskDecider.decide(c, state)) {
        history.push(e);
        state = subtaskDecider.evolve(state, e);
      }
    };
    run({ kind: "queue", spec });
    run({ kind: "assign", agentId: "a1", leaseId: "L1", leaseMs: 30_000, now });
    run({ kind: "report", agentId: "a1", leaseId: "L1", now, ok: false, code: "print(4 2)", output: "", stderr: "SyntaxError", durationMs: 10 });
    return { state, history };
  }
  const steps = ["inference", "parent", "cloud"] as const;

  it("given an escalated subtask, then the steps not tried yet are asked in order, each once", () => {
    const { state, history } = escalated();
    expect(state.status).toBe("escalated");
    expect(stepsLeft(state, steps)).toEqual(["inference", "parent", "cloud"]);
    const after = subtaskDecider.decide(stepUnavailable("t1-0", "inference", "timed out").command, state).reduce(subtaskDecider.evolve, state);
    expect(stepsLeft(after, steps)).toEqual(["parent", "cloud"]);
    expect(history.map(failedTryOf).filter(Boolean)).toEqual([{ code: "print(4 2)", stderr: "SyntaxError" }]);
  });

  it("given a step whose code ran cleanly, then the subtask is resolved by it", () => {
    const { state } = escalated();
    const r = stepAnswered("t1-0", "inference", { code: "print(42)", model: "qwen" }, { kind: "passed", run: { exitCode: 0, signal: null, stdout: "42\n", stderr: "" } });
    expect(r.resolved).toBe(true);
    expect(r.commandId).toBe("escalation:t1-0:inference");
    expect(subtaskDecider.decide(r.command, state)[0]?.type).toBe("subtask.resolved");
  });

  it("given a step whose code failed, then the try is recorded and shown to the next step", () => {
    const { state } = escalated();
    const r = stepAnswered("t1-0", "parent", { code: "exit(1)", model: "m" }, { kind: "failed", run: { exitCode: 1, signal: null, stdout: "", stderr: "boom" }, wallMs: 5_000 });
    expect(r.resolved).toBe(false);
    expect(r.failedTry).toEqual({ code: "exit(1)", stderr: expect.stringContaining("boom") });
    const [tried] = subtaskDecider.decide(r.command, state);
    expect(tried?.type).toBe("subtask.escalationTried");
    expect(failedTryOf(tried!)).toEqual(r.failedTry);
  });

  it("given every step tried, then no step is next and a person is asked", () => {
    let { state } = escalated();
    for (const via of steps) state = subtaskDecider.decide(stepUnavailable("t1-0", via, "down").command, state).reduce(subtaskDecider.evolve, state);
    expect(stepsLeft(state, steps)).toEqual([]);
    const human = awaitPerson("t1-0", steps);
    expect(human.command).toEqual({ kind: "awaitHuman", reason: "no automatic step produced working code (tried: inference, parent, cloud)" });
    expect(subtaskDecider.decide(human.command, state)[0]?.type).toBe("subtask.awaitingHuman");
    expect(awaitPerson("t1-0", []).command).toMatchObject({ reason: expect.stringContaining("none configured") });
  });

  it("shows a step why there is no try when every lease ran out", () => {
    const { state } = escalated();
    expect(triesToShow([], state)).toEqual([{ code: "", stderr: `no try finished: ${state.status === "none" ? 0 : state.attempts} lease(s) ran out` }]);
    expect(triesToShow([{ code: "a", stderr: "b" }], state)).toEqual([{ code: "a", stderr: "b" }]);
  });
});
