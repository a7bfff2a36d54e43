import type { SubtaskCommand } from "./subtask.js";
import { taskIdOfSubtask } from "./subtask.js";
import type { SubtaskEvent } from "./subtaskEvents.js";
import type { TaskCommand } from "./task.js";
import type { TaskEvent, TaskRequest } from "./taskEvents.js";

/**
 * The task flow as a pure process manager: given an event of the tasks stream (and what it had to
 * look up about its aggregate), the commands it leads to. Its runner reads, appends and
 * acknowledges; every rule is here.
 */

/** A command for an aggregate of the tasks context, with the id that makes it idempotent. */
export type TasksCommand =
  | { readonly to: "subtask"; readonly id: string; readonly command: SubtaskCommand; readonly commandId: string }
  | TaskAggregateCommand;

/** A command for a task (what the decomposer ever sends). */
export type TaskAggregateCommand = { readonly to: "task"; readonly id: string; readonly command: TaskCommand; readonly commandId: string };

type FlowEvent = TaskEvent | SubtaskEvent;

/** Where the event sits: its aggregate's id and the commit's stream sequence. */
export interface EventPlace {
  readonly aggregateId: string;
  readonly seq: number;
}

/** What the flow learns by reading the aggregate: a task's submission, a subtask's task. */
export interface TaskFlowFacts {
  readonly request?: TaskRequest;
  readonly taskId?: string;
}

export interface TaskFlowPolicy {
  /** Local tries of each subtask before it is escalated. */
  readonly maxAttempts: number;
}

/** What a subtask's event means for its task: a final outcome, a refuted result, or nothing. */
export type SubtaskNews =
  | { readonly kind: "finished"; readonly ok: boolean; readonly error: string; readonly checked: boolean }
  | { readonly kind: "refuted"; readonly reason: string };

/**
 * A final outcome (done by a worker, checked, resolved in escalation, given up by a person), a
 * refuted result (the task waits for it again), or nothing. The code and output stay in the
 * subtask's events: the task records only the outcome.
 */
export function subtaskNews(event: { type: string; data: unknown }): SubtaskNews | undefined {
  const data = event.data as { reason?: string; by?: string; ok?: boolean; note?: string };
  switch (event.type) {
    case "subtask.completed":
      return { kind: "finished", ok: true, error: "", checked: false };
    case "subtask.checkPassed":
      // A claimed failure that held sends the subtask on (escalated or queued), not to its task.
      return data.ok ? { kind: "finished", ok: true, error: "", checked: data.note === undefined } : undefined;
    case "subtask.resolved":
      // Escalation answers count only after they ran in this node's sandbox.
      return { kind: "finished", ok: true, error: "", checked: true };
    case "subtask.abandoned":
      return { kind: "finished", ok: false, error: `abandoned by ${data.by}: ${data.reason}`, checked: false };
    case "subtask.refuted":
      return { kind: "refuted", reason: `a later check refuted its result: ${data.reason ?? ""}` };
    default:
      return undefined;
  }
}

/**
 * What the flow must read before it can react: a decomposed task's submission (the subtasks
 * inherit its priority, resource class, model and sandbox rule), or the task of a subtask whose
 * id does not say it. Nothing for an event the flow ignores.
 */
export function taskFlowNeeds(event: FlowEvent, at: EventPlace): "request" | "taskId" | undefined {
  if (event.type === "task.decomposed") return "request";
  if (subtaskNews(event) && taskIdOfSubtask(at.aggregateId) === undefined) return "taskId";
  return undefined;
}

/**
 * The commands an event leads to: a decomposed task gets each planned subtask queued; a subtask's
 * news is reported to its task. Command ids derive from the event (the subtask, or the commit for
 * news, since a subtask may finish more than once), so a redelivered event yields the same events,
 * which the stream deduplicates or the deciders refuse as done.
 */
export function reactToTaskEvent(event: FlowEvent, at: EventPlace, facts: TaskFlowFacts, policy: TaskFlowPolicy): TasksCommand[] {
  if (event.type === "task.decomposed") {
    const request = facts.request;
    if (!request) return [];
    return event.data.subtasks.map((p) => ({
      to: "subtask" as const,
      id: p.subtaskId,
      commandId: `queue:${p.subtaskId}`,
      command: {
        kind: "queue" as const,
        spec: {
          taskId: at.aggregateId,
          index: p.index,
          input: p.input,
          language: p.language,
          timeoutMs: p.timeoutMs,
          priority: request.priority,
          resourceClass: request.resourceClass,
          sandboxRequired: request.sandboxRequired,
          maxAttempts: policy.maxAttempts,
          ...(request.requestedModel ? { requestedModel: request.requestedModel } : {}),
        },
      },
    }));
  }
  const news = subtaskNews(event);
  if (!news) return [];
  const subtaskId = at.aggregateId;
  const taskId = taskIdOfSubtask(subtaskId) ?? facts.taskId;
  if (!taskId) return [];
  const command: TaskCommand =
    news.kind === "finished"
      ? { kind: "recordSubtaskResult", subtaskId, ok: news.ok, error: news.error, checked: news.checked }
      : { kind: "reopenSubtask", subtaskId, reason: news.reason };
  return [{ to: "task", id: taskId, command, commandId: `${news.kind}:${subtaskId}:${at.seq}` }];
}

/** Refusals that mean "this reaction happened already": a redelivery after a crash, or a twin node. */
const ALREADY_DONE = new Set(["already_queued", "already_finished", "not_running", "subtask_not_finished"]);

/**
 * What a refused step means. "Done already" is success. Any other rule's refusal (a subtask the
 * task never planned, from a stray or hostile event) can never succeed, and is not the task's
 * own to fail for: it is reported and skipped, never retried for ever.
 */
export function refusedStep(code: string): "done" | "skip" {
  return ALREADY_DONE.has(code) ? "done" : "skip";
}

/**
 * A step that can never be written (its events do not fit the stream) stops the task with the
 * reason, once: the command id is the task's.
 */
export function abortTask(taskId: string, why: string): TaskAggregateCommand {
  return { to: "task", id: taskId, command: { kind: "abort", reason: `the task flow cannot go on: ${why}`.slice(0, 2_000) }, commandId: `abort:${taskId}` };
}
