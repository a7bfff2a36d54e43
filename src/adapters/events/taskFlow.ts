import type { NatsConnection } from "@nats-io/transport-node";
import { DomainRuleViolation } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { subtaskDecider, subtaskSubject, taskIdOfSubtask } from "../../domain/tasks/subtask.js";
import { subtaskEvents, subtaskEventSpecs } from "../../domain/tasks/subtaskEvents.js";
import { taskDecider, taskSubject, type TaskCommand } from "../../domain/tasks/task.js";
import { taskEvents, taskEventSpecs, type TaskRequest } from "../../domain/tasks/taskEvents.js";
import type { EventSealer } from "../crypto/signingPool.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { CommitTooLargeError, type EventStore } from "../nats/eventStore.js";
import { admitAll } from "./admission.js";
import { commandHandler } from "./commandHandler.js";
import { startReactor, type Reactor } from "./reactor.js";

export const TASK_FLOW_CONSUMER = "ec-task-flow";

/**
 * What a subtask's event means for its task: a final outcome (done by a worker, checked, resolved
 * in escalation, given up by a person), a refuted result (the task waits for it again), or nothing.
 * The code and output stay in the subtask's events: the task records only the outcome.
 */
export function subtaskNews(event: { type: string; data: unknown }):
  | { readonly kind: "finished"; readonly ok: boolean; readonly error: string; readonly checked: boolean }
  | { readonly kind: "refuted"; readonly reason: string }
  | undefined {
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

/** Refusals that mean "this reaction happened already": redelivery after a crash, or a twin node. */
const ALREADY_DONE = new Set(["already_queued", "already_finished", "not_running", "subtask_not_finished"]);

export interface TaskFlowOptions {
  readonly nc: NatsConnection;
  readonly store: EventStore;
  readonly sealer: EventSealer;
  readonly verifier?: SignatureVerifier;
  readonly onError?: (err: unknown) => void;
  /** Local tries of each subtask before it is escalated. */
  readonly maxAttempts?: number;
}

export type TaskFlow = Reactor;

/**
 * The process manager of the task flow, on a durable JetStream consumer shared by every node
 * (each commit goes to one of them): a decomposed task gets its subtasks queued; a subtask that
 * completes, is resolved in escalation or is abandoned reports back to its task. Only admitted commits (schema and signature)
 * are acted on. Command ids are derived from the event that caused them, so a redelivered commit
 * produces the same events, which the stream deduplicates or the deciders refuse as done.
 */
export async function startTaskFlow(opts: TaskFlowOptions): Promise<TaskFlow> {
  const registry = eventRegistry(...taskEventSpecs, ...subtaskEventSpecs);
  // Tasks are cached: each gets one report per subtask, mostly from this flow. A stale state (another
  // node's flow reported meanwhile) costs a version conflict and a re-read.
  const tasks = commandHandler({ store: opts.store, decider: taskDecider, registry: taskEvents, sealer: opts.sealer, ...(opts.verifier ? { verifier: opts.verifier } : {}) });
  const subtasks = commandHandler({ store: opts.store, decider: subtaskDecider, registry: subtaskEvents, sealer: opts.sealer, cacheSize: 0 });
  /**
   * Runs a step of the task's flow once. "Done already" is success (a redelivery). A step that
   * can never succeed is never retried for ever: events too large for the stream fail the task
   * with the reason; any other rule's refusal (a subtask the task never planned, from a stray or
   * hostile event) is reported and skipped, since it is not the task's own to fail for. Anything
   * else (the connection, a conflict) is retried.
   */
  async function settle(taskId: string, run: () => Promise<unknown>) {
    try {
      await run();
    } catch (err) {
      if (err instanceof DomainRuleViolation) {
        if (!ALREADY_DONE.has(err.code)) opts.onError?.(new Error(`task ${taskId}: a step was refused and is skipped: ${err.code}: ${err.message}`));
        return;
      }
      if (!(err instanceof CommitTooLargeError)) throw err;
      const reason = `the task flow cannot go on: ${err.message}`;
      opts.onError?.(new Error(`task ${taskId}: ${reason}`));
      await tasks(taskSubject(taskId), { kind: "abort", reason }, { commandId: `abort:${taskId}`, now: new Date() }).catch((abortErr: unknown) => {
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
    for (const event of check.events) {
      const now = new Date();
      if (event.type === "task.decomposed") {
        const taskId = aggregateIdOf(subject);
        const request = await firstEventData<TaskRequest>(subject);
        if (!request) continue;
        const planned = event.data.subtasks as { subtaskId: string; index: number; input: string; language: "python" | "javascript"; timeoutMs: number }[];
        for (const p of planned) {
          const spec = {
            taskId,
            index: p.index,
            input: p.input,
            language: p.language,
            timeoutMs: p.timeoutMs,
            priority: request.priority,
            resourceClass: request.resourceClass,
            sandboxRequired: request.sandboxRequired,
            maxAttempts: opts.maxAttempts ?? 3,
            ...(request.requestedModel ? { requestedModel: request.requestedModel } : {}),
          };
          await settle(taskId, () => subtasks(subtaskSubject(p.subtaskId), { kind: "queue", spec }, { commandId: `queue:${p.subtaskId}`, now }));
        }
      }
      const news = subtaskNews(event);
      if (news) {
        const subtaskId = aggregateIdOf(subject);
        // The task's id is in the subtask's; its first event says so too, at the cost of a read.
        const taskId = taskIdOfSubtask(subtaskId) ?? (await firstEventData<{ taskId?: string }>(subject))?.taskId;
        if (!taskId) continue;
        // A subtask may finish more than once (refuted, then done again): the command id names the commit.
        const command: TaskCommand =
          news.kind === "finished"
            ? { kind: "recordSubtaskResult", subtaskId, ok: news.ok, error: news.error, checked: news.checked }
            : { kind: "reopenSubtask", subtaskId, reason: news.reason };
        await settle(taskId, () => tasks(taskSubject(taskId), command, { commandId: `${news.kind}:${subtaskId}:${seq}`, now }));
      }
    }
  }

  return startReactor({
    nc: opts.nc,
    stream: "EC_TASKS",
    durable: TASK_FLOW_CONSUMER,
    react: (m) => react(m.stream, m.seq, m.subject, m.data),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
