import type { NatsConnection } from "@nats-io/transport-node";
import { DomainRuleViolation } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { tasksContext } from "../../domain/tasks/context.js";
import { afterDecompositionFailure, decompositionSettled, recordPlan, submissionToPlan } from "../../domain/tasks/decompositionWorkflow.js";
import type { TaskEvent } from "../../domain/tasks/taskEvents.js";
import type { SignatureVerifier } from "../../adapters/crypto/verificationPool.js";
import { admitAll } from "../../adapters/events/admission.js";
import { startReactor, type Reactor } from "../../adapters/events/reactor.js";
import { decompose, NoModelError, type InferenceService } from "../../adapters/inference/decomposeClient.js";
import { runTaskCommand, type TasksHandlers } from "./runCommand.js";
import { systemClock } from "../clock.js";

export const DECOMPOSER_CONSUMER = "ec-decomposer";

/**
 * Runs the decomposer (src/domain/tasks/decompositionWorkflow.ts): each submitted task is
 * planned by the inference service and the plan recorded on the task (the task flow then queues
 * the subtasks); without a plan the workflow says whether to try again or fail the task.
 */
export async function startDecomposer(opts: {
  nc: NatsConnection;
  handlers: Pick<TasksHandlers, "task">;
  verifier?: SignatureVerifier;
  inference: InferenceService;
  onError?: (err: unknown) => void;
  clock?: () => Date;
}): Promise<Reactor> {
  const registry = eventRegistry(...tasksContext.events);
  const clock = opts.clock ?? systemClock;
  const settled = (err: unknown) => err instanceof DomainRuleViolation && decompositionSettled(err.code);

  return startReactor({
    nc: opts.nc,
    stream: tasksContext.stream,
    durable: DECOMPOSER_CONSUMER,
    retryDelayMs: 5_000,
    ...(opts.onError ? { onError: opts.onError } : {}),
    async react(m) {
      const [check] = await admitAll([m], registry, opts.verifier);
      const request = check?.ok ? check.events.map((e) => submissionToPlan(e as Pick<TaskEvent, "type" | "data">)).find((r) => r !== undefined) : undefined;
      if (!request) return;
      const taskId = aggregateIdOf(m.subject);
      try {
        const plan = await decompose(opts.inference, request.prompt, request.language);
        await runTaskCommand(opts.handlers.task, recordPlan(taskId, plan), clock());
      } catch (err) {
        if (settled(err)) return;
        const next = afterDecompositionFailure(taskId, { noModel: err instanceof NoModelError, message: err instanceof Error ? err.message : String(err) }, m.deliveries);
        if (next === "retry") throw err;
        await runTaskCommand(opts.handlers.task, next, clock()).catch((e: unknown) => {
          if (!settled(e)) throw e;
        });
      }
    },
  });
}
