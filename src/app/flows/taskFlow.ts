import type { NatsConnection } from "@nats-io/transport-node";
import { DomainRuleViolation } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { tasksContext } from "../../domain/tasks/context.js";
import type { SubtaskEvent } from "../../domain/tasks/subtaskEvents.js";
import type { TaskEvent, TaskRequest } from "../../domain/tasks/taskEvents.js";
import { abortTask, reactToTaskEvent, refusedStep, taskFlowNeeds, type TaskFlowFacts, type TasksCommand } from "../../domain/tasks/taskWorkflow.js";
import type { SignatureVerifier } from "../../adapters/crypto/verificationPool.js";
import { admitAll } from "../../adapters/events/admission.js";
import { startReactor, type Reactor } from "../../adapters/events/reactor.js";
import { CommitTooLargeError, type EventStore } from "../../adapters/nats/eventStore.js";
import { runTasksCommand, type TasksHandlers } from "./runCommand.js";
import { systemClock } from "../clock.js";

export const TASK_FLOW_CONSUMER = "ec-task-flow";

export interface TaskFlowOptions {
  readonly nc: NatsConnection;
  readonly store: EventStore;
  readonly handlers: TasksHandlers;
  readonly verifier?: SignatureVerifier;
  readonly onError?: (err: unknown) => void;
  /** Local tries of each subtask before it is escalated. */
  readonly maxAttempts?: number;
  readonly clock?: () => Date;
}

export type TaskFlow = Reactor;

/**
 * Runs the task flow (src/domain/tasks/taskWorkflow.ts) on a durable JetStream consumer shared
 * by every node, so each commit goes to one of them. Only admitted commits (schema and
 * signature) are acted on; what the workflow needs to know about an aggregate is read from its
 * stream. A step the rules refuse as done is success; one refused otherwise is reported and
 * skipped; one whose events cannot fit the stream stops the task with the reason; anything else
 * (the connection, a conflict) is thrown, and the commit is delivered again.
 */
export async function startTaskFlow(opts: TaskFlowOptions): Promise<TaskFlow> {
  const registry = eventRegistry(...tasksContext.events);
  const clock = opts.clock ?? systemClock;
  const policy = { maxAttempts: opts.maxAttempts ?? 3 };

  async function settle(taskId: string, cmd: TasksCommand) {
    try {
      await runTasksCommand(opts.handlers, cmd, clock());
    } catch (err) {
      if (err instanceof DomainRuleViolation) {
        if (refusedStep(err.code) === "skip") opts.onError?.(new Error(`task ${taskId}: a step was refused and is skipped: ${err.code}: ${err.message}`));
        return;
      }
      if (!(err instanceof CommitTooLargeError)) throw err;
      opts.onError?.(new Error(`task ${taskId}: the task flow cannot go on: ${err.message}`));
      await runTasksCommand(opts.handlers, abortTask(taskId, err.message), clock()).catch((abortErr: unknown) => {
        if (!(abortErr instanceof DomainRuleViolation)) throw abortErr;
      });
    }
  }

  /** The data of an aggregate's first event (task.submitted, subtask.queued), if it is admitted. */
  async function firstEventData<T>(subject: string): Promise<T | undefined> {
    const { commits } = await opts.store.readAggregate(subject);
    const first = commits[0] && (await admitAll([commits[0]], registry, opts.verifier))[0];
    return first?.ok ? (first.events[0]?.data as T | undefined) : undefined;
  }

  async function react(stream: string, seq: number, subject: string, data: Uint8Array) {
    const [check] = await admitAll([{ stream, seq, subject, data }], registry, opts.verifier);
    if (!check?.ok) return;
    const at = { aggregateId: aggregateIdOf(subject), seq };
    for (const envelope of check.events) {
      const event = { type: envelope.type, data: envelope.data } as TaskEvent | SubtaskEvent;
      const need = taskFlowNeeds(event, at);
      let facts: TaskFlowFacts = {};
      if (need === "request") {
        const request = await firstEventData<TaskRequest>(subject);
        if (request) facts = { request };
      } else if (need === "taskId") {
        // The task's id is in the subtask's; its first event says so too, at the cost of a read.
        const taskId = (await firstEventData<{ taskId?: string }>(subject))?.taskId;
        if (taskId) facts = { taskId };
      }
      for (const cmd of reactToTaskEvent(event, at, facts, policy)) {
        const taskId = cmd.to === "task" ? cmd.id : at.aggregateId;
        await settle(taskId, cmd);
      }
    }
  }

  return startReactor({
    nc: opts.nc,
    stream: tasksContext.stream,
    durable: TASK_FLOW_CONSUMER,
    react: (m) => react(m.stream, m.seq, m.subject, m.data),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
