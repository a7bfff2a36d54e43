import { z } from "zod";
import { assertNever, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { PlannedSubtask, TaskRequest, type TaskEvent } from "./taskEvents.js";

type Planned = z.infer<typeof PlannedSubtask>;
interface Finished {
  readonly ok: boolean;
  readonly code?: string | undefined;
  readonly output: string;
  readonly error: string;
}

export type Task =
  | { readonly status: "none" }
  | { readonly status: "submitted"; readonly request: TaskRequest }
  | { readonly status: "running"; readonly request: TaskRequest; readonly subtasks: readonly Planned[]; readonly finished: Readonly<Record<string, Finished>> }
  | { readonly status: "completed"; readonly request: TaskRequest; readonly subtaskCount: number; readonly output: string; readonly code: string }
  | { readonly status: "failed"; readonly request: TaskRequest; readonly subtaskCount: number; readonly reason: string };

export const noTask = (): Task => ({ status: "none" });

export const TaskCommand = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("submit"), request: TaskRequest }),
  z.object({ kind: z.literal("recordDecomposition"), subtasks: z.array(PlannedSubtask).min(1).max(10), parsed: z.boolean(), model: z.string() }),
  z.object({ kind: z.literal("recordSubtaskResult"), subtaskId: z.string(), ok: z.boolean(), code: z.string().optional(), output: z.string(), error: z.string() }),
  /** No plan could be made (no model reachable, say): the task fails before it runs. */
  z.object({ kind: z.literal("failDecomposition"), reason: z.string().min(1).max(2_000) }),
]);
export type TaskCommand = z.infer<typeof TaskCommand>;

const allFinished = (state: Task): RuleBreak | undefined =>
  state.status === "running" && Object.keys(state.finished).length === state.subtasks.length
    ? undefined
    : { code: "not_finished", message: "the task ends only when every subtask has finished" };

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
    case "task.failed":
      // Before a plan exists a task may fail (decomposition impossible); once running, only at the end.
      return state.status === "submitted" ? undefined : allFinished(state);
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
    case "task.completed":
      return state.status === "running"
        ? { status: "completed", request: state.request, subtaskCount: state.subtasks.length, output: event.data.output, code: event.data.code ?? "" }
        : state;
    case "task.failed":
      if (state.status === "submitted") return { status: "failed", request: state.request, subtaskCount: 0, reason: event.data.reason };
      return state.status === "running"
        ? { status: "failed", request: state.request, subtaskCount: state.subtasks.length, reason: event.data.reason }
        : state;
    default:
      return assertNever(event);
  }
}

const commentMark: Record<TaskRequest["language"], string> = { python: "#", javascript: "//" };

/** Subtask code and outputs in their planned order, each under a header naming its part. */
export function combineResults(subtasks: readonly Planned[], finished: Readonly<Record<string, Finished>>): { output: string; code: string } {
  const parts = [...subtasks].sort((a, b) => a.index - b.index);
  const header = (s: Planned, mark: string) => `${mark} part ${s.index + 1}: ${s.input.split("\n")[0]}`;
  return {
    output: parts.map((s) => `${header(s, "#")}\n${finished[s.subtaskId]?.output ?? ""}`).join("\n"),
    code: parts.map((s) => `${header(s, commentMark[s.language])}\n${finished[s.subtaskId]?.code ?? ""}`).join("\n\n"),
  };
}

const rules = { ruleBreak: taskRuleBreak, evolve: evolveTask };

export function decideTask(command: TaskCommand, state: Task): TaskEvent[] {
  switch (command.kind) {
    case "submit":
      return requireRules(rules, state, [{ type: "task.submitted", data: command.request }]);
    case "recordDecomposition":
      return requireRules(rules, state, [{ type: "task.decomposed", data: { subtasks: command.subtasks, parsed: command.parsed, model: command.model } }]);
    case "recordSubtaskResult": {
      const { subtaskId, ok, output, error } = command;
      const finished: TaskEvent = { type: "task.subtaskFinished", data: { subtaskId, ok, code: command.code ?? "", output, error } };
      requireRules(rules, state, [finished]);
      const after = evolveTask(state, finished);
      if (after.status !== "running" || Object.keys(after.finished).length < after.subtasks.length) return [finished];
      const failed = after.subtasks.filter((s) => !after.finished[s.subtaskId]!.ok);
      const end: TaskEvent =
        failed.length === 0
          ? { type: "task.completed", data: combineResults(after.subtasks, after.finished) }
          : { type: "task.failed", data: { reason: `subtask(s) ${failed.map((s) => s.index + 1).join(", ")} failed: ${after.finished[failed[0]!.subtaskId]!.error.slice(0, 500)}` } };
      return requireRules(rules, state, [finished, end]);
    }
    case "failDecomposition":
      return requireRules(rules, state, [{ type: "task.failed", data: { reason: command.reason } }]);
    default:
      return assertNever(command);
  }
}

export const taskDecider: Decider<TaskCommand, Task, TaskEvent> = { initialState: noTask, decide: decideTask, evolve: evolveTask, ruleBreak: taskRuleBreak };
export const taskSubject = (taskId: string) => `ec.tasks.${taskId}`;
