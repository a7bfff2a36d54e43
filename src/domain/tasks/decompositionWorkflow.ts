import type { SubtaskDraft } from "./decomposition.js";
import { subtaskIdFor } from "./subtask.js";
import type { TaskEvent, TaskRequest } from "./taskEvents.js";
import type { TaskAggregateCommand } from "./taskWorkflow.js";

/**
 * The decomposer as a pure process manager: a submitted task is to be planned; a plan (or the
 * reason there is none) becomes the task's command. Its runner asks the inference service.
 */

/** Deliveries of one submission before an unreachable inference service fails the task. */
export const MAX_DECOMPOSE_DELIVERIES = 5;

/** The submission to plan, if this event is one. */
export function submissionToPlan(event: Pick<TaskEvent, "type" | "data">): TaskRequest | undefined {
  return event.type === "task.submitted" ? (event.data as TaskRequest) : undefined;
}

/**
 * The plan recorded on the task. Subtask ids derive from the task id and the index, and the
 * command id from the task, so a redelivered submission records the same plan or is refused as done.
 */
export function recordPlan(taskId: string, plan: { readonly subtasks: readonly SubtaskDraft[]; readonly parsed: boolean; readonly model: string }): TaskAggregateCommand {
  const subtasks = plan.subtasks.map((s) => ({ subtaskId: subtaskIdFor(taskId, s.index), index: s.index, input: s.input, language: s.language, timeoutMs: s.timeoutMs }));
  return { to: "task", id: taskId, command: { kind: "recordDecomposition", subtasks, parsed: plan.parsed, model: plan.model }, commandId: `plan:${taskId}` };
}

/** Why no plan came: the service has no model (retrying will not help soon), or it could not be reached. */
export interface DecompositionFailure {
  readonly noModel: boolean;
  readonly message: string;
}

/**
 * After a failed try: with no model the task fails at once with the reason; an unreachable
 * service is tried again on redelivery, a few times, before the task fails.
 */
export function afterDecompositionFailure(taskId: string, failure: DecompositionFailure, deliveries: number): "retry" | TaskAggregateCommand {
  if (!failure.noModel && deliveries < MAX_DECOMPOSE_DELIVERIES) return "retry";
  const reason = `decomposition failed: ${failure.message}`.slice(0, 2_000);
  return { to: "task", id: taskId, command: { kind: "failDecomposition", reason }, commandId: `plan:${taskId}` };
}

/** Refusals meaning the task was planned or ended already (a redelivery, a twin node). */
export function decompositionSettled(code: string): boolean {
  return code === "not_submitted" || code === "not_finished";
}
