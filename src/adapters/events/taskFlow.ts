import type { NatsConnection } from "@nats-io/transport-node";
import { DomainRuleViolation } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { subtaskDecider, subtaskSubject, taskIdOfSubtask } from "../../domain/tasks/subtask.js";
import { subtaskEvents, subtaskEventSpecs } from "../../domain/tasks/subtaskEvents.js";
import { taskDecider, taskSubject } from "../../domain/tasks/task.js";
import { taskEvents, taskEventSpecs, type TaskRequest } from "../../domain/tasks/taskEvents.js";
import type { EventSealer } from "../crypto/signingPool.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import type { EventStore } from "../nats/eventStore.js";
import { admitAll } from "./admission.js";
import { commandHandler } from "./commandHandler.js";
import { startReactor, type Reactor } from "./reactor.js";

export const TASK_FLOW_CONSUMER = "ec-task-flow";

/** A subtask's final word for its task: done by a worker, resolved in escalation, or given up by a person. */
function subtaskOutcome(event: { type: string; data: unknown }): { ok: boolean; code: string; output: string; error: string } | undefined {
  const data = event.data as { code?: string; output?: string; reason?: string; via?: string; by?: string };
  switch (event.type) {
    case "subtask.completed":
      return { ok: true, code: data.code ?? "", output: data.output ?? "", error: "" };
    case "subtask.resolved":
      return { ok: true, code: data.code ?? "", output: data.output ?? "", error: "" };
    case "subtask.abandoned":
      return { ok: false, code: "", output: "", error: `abandoned by ${data.by}: ${data.reason}` };
    default:
      return undefined;
  }
}

/** Refusals that mean "this reaction happened already": redelivery after a crash, or a twin node. */
const ALREADY_DONE = new Set(["already_queued", "already_finished", "not_running"]);

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
  async function once(run: () => Promise<unknown>) {
    try {
      await run();
    } catch (err) {
      if (!(err instanceof DomainRuleViolation && ALREADY_DONE.has(err.code))) throw err;
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
          await once(() => subtasks(subtaskSubject(p.subtaskId), { kind: "queue", spec }, { commandId: `queue:${p.subtaskId}`, now }));
        }
      }
      const finished = subtaskOutcome(event);
      if (finished) {
        const subtaskId = aggregateIdOf(subject);
        // The task's id is in the subtask's; its first event says so too, at the cost of a read.
        const taskId = taskIdOfSubtask(subtaskId) ?? (await firstEventData<{ taskId?: string }>(subject))?.taskId;
        if (!taskId) continue;
        await once(() => tasks(taskSubject(taskId), { kind: "recordSubtaskResult", subtaskId, ...finished }, { commandId: `result:${subtaskId}`, now }));
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
