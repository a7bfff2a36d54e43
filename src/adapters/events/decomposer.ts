import type { NatsConnection } from "@nats-io/transport-node";
import { DomainRuleViolation } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { subtaskIdFor } from "../../domain/tasks/subtask.js";
import { taskDecider, taskSubject } from "../../domain/tasks/task.js";
import { taskEvents, taskEventSpecs, type TaskRequest } from "../../domain/tasks/taskEvents.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { subtaskEventSpecs } from "../../domain/tasks/subtaskEvents.js";
import type { EventSealer } from "../crypto/signingPool.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { decompose, NoModelError, type InferenceService } from "../inference/decomposeClient.js";
import type { EventStore } from "../nats/eventStore.js";
import { admitAll } from "./admission.js";
import { commandHandler } from "./commandHandler.js";
import { startReactor, type Reactor } from "./reactor.js";

export const DECOMPOSER_CONSUMER = "ec-decomposer";

/** Deliveries of one submission before an unreachable inference service fails the task. */
const MAX_DELIVERIES = 5;

/**
 * Turns each submitted task into a plan: asks the inference service to decompose the prompt and
 * records the subtasks on the task (the task flow then queues them). Subtask ids derive from the
 * task id and the index, so a redelivered submission records the same plan or is refused as done.
 * With no model the task fails at once with the reason; an unreachable service is retried a few
 * times first.
 */
export async function startDecomposer(opts: {
  nc: NatsConnection;
  store: EventStore;
  sealer: EventSealer;
  verifier?: SignatureVerifier;
  inference: InferenceService;
  onError?: (err: unknown) => void;
}): Promise<Reactor> {
  const registry = eventRegistry(...taskEventSpecs, ...subtaskEventSpecs);
  const tasks = commandHandler({ store: opts.store, decider: taskDecider, registry: taskEvents, sealer: opts.sealer, cacheSize: 0 });
  const done = (err: unknown) => err instanceof DomainRuleViolation && (err.code === "not_submitted" || err.code === "not_finished");

  return startReactor({
    nc: opts.nc,
    stream: "EC_TASKS",
    durable: DECOMPOSER_CONSUMER,
    retryDelayMs: 5_000,
    ...(opts.onError ? { onError: opts.onError } : {}),
    async react(m) {
      const [check] = await admitAll([m], registry, opts.verifier);
      const submitted = check?.ok ? check.events.find((e) => e.type === "task.submitted") : undefined;
      if (!submitted) return;
      const taskId = aggregateIdOf(m.subject);
      const request = submitted.data as TaskRequest;
      const subject = taskSubject(taskId);
      try {
        const plan = await decompose(opts.inference, request.prompt, request.language);
        const subtasks = plan.subtasks.map((s) => ({ subtaskId: subtaskIdFor(taskId, s.index), index: s.index, input: s.input, language: s.language, timeoutMs: s.timeoutMs }));
        await tasks(subject, { kind: "recordDecomposition", subtasks, parsed: plan.parsed, model: plan.model }, { now: new Date(), commandId: `plan:${taskId}` });
      } catch (err) {
        if (done(err)) return;
        const unreachable = !(err instanceof NoModelError);
        if (unreachable && m.deliveries < MAX_DELIVERIES) throw err;
        const reason = `decomposition failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2_000);
        await tasks(subject, { kind: "failDecomposition", reason }, { now: new Date(), commandId: `plan:${taskId}` }).catch((e: unknown) => {
          if (!done(e)) throw e;
        });
      }
    },
  });
}
