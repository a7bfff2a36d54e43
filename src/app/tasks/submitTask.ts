import { randomUUID } from "node:crypto";
import { DomainRuleViolation } from "../../domain/decider.js";
import { taskSubject, type TaskCommand } from "../../domain/tasks/task.js";
import type { TaskRequest } from "../../domain/tasks/taskEvents.js";
import type { HandleCommand } from "../commands.js";

export interface SubmitTaskDeps {
  readonly handleTask: HandleCommand<TaskCommand>;
  readonly now: () => Date;
}

/**
 * A user submits a task: task.submitted is appended, and decomposition and everything after
 * happen on the bus. With an idempotency key the key is the task's id, so a retried submission
 * names the same task and appends nothing new.
 */
export function submitTask(deps: SubmitTaskDeps) {
  return async (request: TaskRequest, idempotencyKey?: string): Promise<{ taskId: string }> => {
    const taskId = idempotencyKey ?? randomUUID();
    await deps.handleTask(taskSubject(taskId), { kind: "submit", request }, { now: deps.now(), commandId: `submit:${taskId}` }).catch((err: unknown) => {
      if (idempotencyKey && err instanceof DomainRuleViolation && err.code === "already_submitted") return;
      throw err;
    });
    return { taskId };
  };
}
