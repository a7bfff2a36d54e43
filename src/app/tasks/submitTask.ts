import { randomUUID } from "node:crypto";
import { creditSubject, type CreditCommand } from "../../domain/credits/commands.js";
import { taskHoldId } from "../../domain/credits/taskPayments.js";
import { taskHold } from "../../domain/credits/workPricing.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { taskSubject, type TaskCommand } from "../../domain/tasks/task.js";
import type { TaskRequest } from "../../domain/tasks/taskEvents.js";
import { refusal, type HandleCommand, type Refusal } from "../commands.js";

export interface SubmitTaskDeps {
  readonly handleTask: HandleCommand<TaskCommand>;
  /** None only on the bench's unpaid node: then a task holds nothing. */
  readonly handleCredit?: HandleCommand<CreditCommand>;
  /** The model a task runs on when it asks for none: what its hold is priced by. */
  readonly defaultModel: string;
  readonly now: () => Date;
}

export interface TaskSubmitted {
  readonly taskId: string;
  /** Millicredits held on the payer's account until the task ends. */
  readonly held: number;
}

/**
 * A user submits a task: its payer (the submitter's account) holds the most the task can cost,
 * then task.submitted is appended, and decomposition and everything after happen on the bus. A
 * payer who cannot cover it is refused before anything is appended. With an idempotency key the
 * key is the task's id, so a retried submission names the same task and appends nothing new (a
 * hold it took again for a task already submitted is given back at once).
 */
export function submitTask(deps: SubmitTaskDeps) {
  return async (request: TaskRequest, idempotencyKey?: string): Promise<TaskSubmitted | Refusal<"insufficient_credits">> => {
    const taskId = idempotencyKey ?? randomUUID();
    const now = deps.now();
    const payer = creditSubject(request.submitter);
    const holdId = taskHoldId(taskId);
    const amount = taskHold({ resourceClass: request.resourceClass, model: request.requestedModel ?? deps.defaultModel });
    /** Appends task.submitted; "repeat" when a retry with the idempotency key finds it appended already. */
    const appendTask = () =>
      deps.handleTask(taskSubject(taskId), { kind: "submit", request }, { now, commandId: `submit:${taskId}` }).then(
        () => "appended" as const,
        (err: unknown) => {
          if (idempotencyKey !== undefined && err instanceof DomainRuleViolation && err.code === "already_submitted") return "repeat" as const;
          throw err;
        },
      );
    const handleCredit = deps.handleCredit;
    if (!handleCredit) {
      await appendTask();
      return { taskId, held: 0 };
    }
    let heldNow = false;
    try {
      await handleCredit(payer, { kind: "hold", holdId, amount, reason: `task ${taskId}` }, { now, commandId: `hold:${taskId}` });
      heldNow = true;
    } catch (err) {
      if (!(err instanceof DomainRuleViolation)) throw err;
      if (err.code === "insufficient_credits") {
        return refusal("insufficient_credits", `account ${request.submitter} cannot cover the task: it ${err.message} (the most a task on this model can cost is held until it ends)`);
      }
      // A retry of a submission whose hold is open already: the same task, held once.
      if (err.code !== "duplicate_hold") throw err;
    }
    // A hold taken for a task that is not appended goes back: nothing is kept for nothing.
    const giveBack = () => handleCredit(payer, { kind: "release", holdId }, { now, commandId: `unhold:${taskId}:${now.getTime()}` }).catch(() => undefined);
    try {
      if ((await appendTask()) === "repeat" && heldNow) await giveBack();
    } catch (err) {
      if (heldNow && err instanceof DomainRuleViolation) await giveBack();
      throw err;
    }
    return { taskId, held: amount };
  };
}
