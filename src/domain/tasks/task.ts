import { z } from "zod";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import type { SubtaskResult } from "./subtask.js";
import { PlannedSubtask, TaskRequest, type TaskEvent } from "./taskEvents.js";
import { subjectOf } from "../events/envelope.js";

type Planned = z.infer<typeof PlannedSubtask>;
/** A subtask's outcome as its task keeps it; code and output only from events recorded before they moved to the subtask. */
export interface Finished {
  readonly ok: boolean;
  readonly error: string;
  readonly checked?: boolean | undefined;
  readonly code?: string | undefined;
  readonly output?: string | undefined;
}

/**
 * A task: submitted, decomposed into a plan and running until every subtask has finished, then
 * completed or failed. A finished task keeps its plan and its subtasks' outcomes (a refuted
 * result sends it back to running); `output` and `code` exist only in tasks completed before
 * results were kept on the subtasks.
 */
export type Task =
  | { readonly status: "none" }
  | { readonly status: "submitted"; readonly request: TaskRequest }
  | { readonly status: "running"; readonly request: TaskRequest; readonly subtasks: readonly Planned[]; readonly finished: Readonly<Record<string, Finished>> }
  | {
      readonly status: "completed";
      readonly request: TaskRequest;
      readonly subtaskCount: number;
      readonly subtasks?: readonly Planned[];
      readonly finished?: Readonly<Record<string, Finished>>;
      readonly output?: string;
      readonly code?: string;
    }
  | {
      readonly status: "failed";
      readonly request: TaskRequest;
      readonly subtaskCount: number;
      readonly reason: string;
      readonly subtasks?: readonly Planned[];
      readonly finished?: Readonly<Record<string, Finished>>;
    };

export const noTask = (): Task => ({ status: "none" });

export const TaskCommand = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("submit"), request: TaskRequest }),
  z.object({ kind: z.literal("recordDecomposition"), subtasks: z.array(PlannedSubtask).min(1).max(10), parsed: z.boolean(), model: z.string() }),
  z.object({ kind: z.literal("recordSubtaskResult"), subtaskId: z.string(), ok: z.boolean(), error: z.string(), checked: z.boolean().optional() }),
  /** A finished subtask's result did not hold when checked later: the task waits for it again. */
  z.object({ kind: z.literal("reopenSubtask"), subtaskId: z.string(), reason: z.string().min(1).max(2_000) }),
  /** No plan could be made (no model reachable, say): the task fails before it runs. */
  z.object({ kind: z.literal("failDecomposition"), reason: z.string().min(1).max(2_000) }),
  /** Something that can never succeed stands in the running task's way: it fails with the reason. */
  z.object({ kind: z.literal("abort"), reason: z.string().min(1).max(2_000) }),
]);
export type TaskCommand = z.infer<typeof TaskCommand>;

const allFinished = (state: Task): RuleBreak | undefined =>
  state.status === "running" && Object.keys(state.finished).length === state.subtasks.length
    ? undefined
    : { code: "not_finished", message: "the task ends only when every subtask has finished" };

/** The plan and outcomes of a task that has one: running, or finished after running. */
const planOf = (state: Task) =>
  state.status === "running" || ((state.status === "completed" || state.status === "failed") && state.subtasks && state.finished)
    ? { subtasks: state.subtasks!, finished: state.finished! }
    : undefined;

const ABORT_REASON_LENGTH = 2_000;

export function taskRuleBreak(state: Task, event: TaskEvent): RuleBreak | undefined {
  switch (event.type) {
    case "task.submitted":
      return state.status === "none" ? undefined : { code: "already_submitted", message: "the task was submitted before" };
    case "task.decomposed":
      return state.status === "submitted" ? undefined : { code: "not_submitted", message: `the task is ${state.status}, not waiting for decomposition` };
    case "task.subtaskFinished":
      if (state.status !== "running") return { code: "not_running", message: `the task is ${state.status}` };
      if (!state.subtasks.some((s) => s.subtaskId === event.data.subtaskId)) return { code: "unknown_subtask", message: `${event.data.subtaskId} is not a subtask of this task` };
      return state.finished[event.data.subtaskId] ? { code: "already_finished", message: `${event.data.subtaskId} finished before` } : undefined;
    case "task.subtaskReopened": {
      const plan = planOf(state);
      if (!plan) return { code: "not_running", message: `the task is ${state.status}, with no finished subtask to reopen` };
      return plan.finished[event.data.subtaskId] ? undefined : { code: "subtask_not_finished", message: `${event.data.subtaskId} has not finished (or was reopened already)` };
    }
    case "task.failed":
      // Before a plan exists a task may fail (decomposition impossible); once running, at the end or when aborted.
      return state.status === "submitted" || state.status === "running" ? undefined : { code: "not_running", message: `the task is ${state.status}` };
    case "task.completed":
      return allFinished(state);
    default:
      return assertNever(event);
  }
}

export function evolveTask(state: Task, event: TaskEvent): Task {
  switch (event.type) {
    case "task.submitted":
      return { status: "submitted", request: event.data };
    case "task.decomposed":
      return state.status === "submitted" ? { status: "running", request: state.request, subtasks: event.data.subtasks, finished: {} } : state;
    case "task.subtaskFinished": {
      if (state.status !== "running") return state;
      const { subtaskId, ...finished } = event.data;
      return { ...state, finished: { ...state.finished, [subtaskId]: finished } };
    }
    case "task.subtaskReopened": {
      const plan = planOf(state);
      if (!plan || state.status === "none" || state.status === "submitted") return state;
      const finished = { ...plan.finished };
      delete finished[event.data.subtaskId];
      return { status: "running", request: state.request, subtasks: plan.subtasks, finished };
    }
    case "task.completed":
      if (state.status !== "running") return state;
      return {
        status: "completed",
        request: state.request,
        subtaskCount: state.subtasks.length,
        subtasks: state.subtasks,
        finished: state.finished,
        ...(event.data.output !== undefined ? { output: event.data.output, code: event.data.code ?? "" } : {}),
      };
    case "task.failed":
      if (state.status === "submitted") return { status: "failed", request: state.request, subtaskCount: 0, reason: event.data.reason };
      return state.status === "running"
        ? { status: "failed", request: state.request, subtaskCount: state.subtasks.length, reason: event.data.reason, subtasks: state.subtasks, finished: state.finished }
        : state;
    default:
      return assertNever(event);
  }
}

const commentMark: Record<TaskRequest["language"], string> = { python: "#", javascript: "//" };

/** Subtask code and outputs in their planned order, each under a header naming its part. */
export function combineResults(subtasks: readonly Planned[], results: Readonly<Record<string, Pick<SubtaskResult, "code" | "output"> | undefined>>): { output: string; code: string } {
  const parts = [...subtasks].sort((a, b) => a.index - b.index);
  const header = (s: Planned, mark: string) => `${mark} part ${s.index + 1}: ${s.input.split("\n")[0]}`;
  return {
    output: parts.map((s) => `${header(s, "#")}\n${results[s.subtaskId]?.output ?? ""}`).join("\n"),
    code: parts.map((s) => `${header(s, commentMark[s.language])}\n${results[s.subtaskId]?.code ?? ""}`).join("\n\n"),
  };
}

/**
 * A completed task's code and output: its subtasks' results in plan order, or what its
 * completion recorded when it was completed before results were kept on the subtasks.
 */
export function taskResult(task: Task, subtaskResults: Readonly<Record<string, SubtaskResult | undefined>>): { output: string; code: string } | undefined {
  if (task.status !== "completed") return undefined;
  if (task.output !== undefined) return { output: task.output, code: task.code ?? "" };
  if (!task.subtasks) return undefined;
  const results: Record<string, Pick<SubtaskResult, "code" | "output"> | undefined> = {};
  for (const s of task.subtasks) {
    const legacy = task.finished?.[s.subtaskId];
    results[s.subtaskId] = subtaskResults[s.subtaskId] ?? (legacy?.output !== undefined ? { code: legacy.code ?? "", output: legacy.output } : undefined);
  }
  return combineResults(task.subtasks, results);
}

/** Whether every subtask's result of a completed task was checked by running its code here. */
export function taskChecked(task: Task): boolean {
  const plan = task.status === "completed" && task.subtasks && task.finished ? task : undefined;
  return plan !== undefined && plan.subtasks!.every((s) => plan.finished![s.subtaskId]?.checked === true);
}

const rules = { ruleBreak: taskRuleBreak, evolve: evolveTask };

export function decideTask(command: TaskCommand, state: Task): TaskEvent[] {
  switch (command.kind) {
    case "submit":
      return requireRules(rules, state, [{ type: "task.submitted", data: command.request }]);
    case "recordDecomposition":
      return requireRules(rules, state, [{ type: "task.decomposed", data: { subtasks: command.subtasks, parsed: command.parsed, model: command.model } }]);
    case "recordSubtaskResult": {
      const { subtaskId, ok } = command;
      const error = command.error.slice(0, ABORT_REASON_LENGTH);
      const finished: TaskEvent = { type: "task.subtaskFinished", data: { subtaskId, ok, error, ...(command.checked !== undefined ? { checked: command.checked } : {}) } };
      requireRules(rules, state, [finished]);
      const after = evolveTask(state, finished);
      if (after.status !== "running" || Object.keys(after.finished).length < after.subtasks.length) return [finished];
      const failed = after.subtasks.filter((s) => !after.finished[s.subtaskId]!.ok);
      const end: TaskEvent =
        failed.length === 0
          ? { type: "task.completed", data: {} }
          : { type: "task.failed", data: { reason: `subtask(s) ${failed.map((s) => s.index + 1).join(", ")} failed: ${after.finished[failed[0]!.subtaskId]!.error.slice(0, 500)}` } };
      return requireRules(rules, state, [finished, end]);
    }
    case "reopenSubtask":
      return requireRules(rules, state, [{ type: "task.subtaskReopened", data: { subtaskId: command.subtaskId, reason: command.reason } }]);
    case "failDecomposition":
      if (state.status !== "submitted") throw new DomainRuleViolation("not_submitted", `the task is ${state.status}, not waiting for decomposition`);
      return requireRules(rules, state, [{ type: "task.failed", data: { reason: command.reason } }]);
    case "abort":
      return requireRules(rules, state, [{ type: "task.failed", data: { reason: command.reason.slice(0, ABORT_REASON_LENGTH) } }]);
    default:
      return assertNever(command);
  }
}

export const taskDecider: Decider<TaskCommand, Task, TaskEvent> = { initialState: noTask, decide: decideTask, evolve: evolveTask, ruleBreak: taskRuleBreak };
export const taskSubject = (taskId: string) => subjectOf("tasks", "task", taskId);
