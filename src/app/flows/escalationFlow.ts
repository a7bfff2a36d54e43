import type { NatsConnection } from "@nats-io/transport-node";
import { foldCommit } from "../../domain/decider.js";
import { EscalationFailedError, EscalationUnavailableError, type Escalator } from "../../domain/escalation/escalator.js";
import { escalationRequest } from "../../domain/escalation/request.js";
import { awaitPerson, failedTryOf, stepAnswered, stepsLeft, stepUnavailable, triesToShow, type FailedTry, type WaterfallCommand } from "../../domain/escalation/waterfall.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import type { Language } from "../../domain/tasks/decomposition.js";
import { tasksContext } from "../../domain/tasks/context.js";
import type { SubsetCheck } from "../../domain/tasks/subset.js";
import { subtaskDecider, type Subtask } from "../../domain/tasks/subtask.js";
import type { SubtaskEvent } from "../../domain/tasks/subtaskEvents.js";
import { judgeRun, type AttemptOutcome } from "../../domain/worker/iteration.js";
import type { SignatureVerifier } from "../../adapters/crypto/verificationPool.js";
import { admitAll } from "../../adapters/events/admission.js";
import { startReactor, type Reactor } from "../../adapters/events/reactor.js";
import { limitsForTimeout, type Sandbox } from "../../adapters/executor/sandbox.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import type { TasksHandlers } from "./runCommand.js";
import { systemClock } from "../clock.js";

export const ESCALATION_CONSUMER = "ec-escalation";

/**
 * Runs the escalation waterfall (src/domain/escalation/waterfall.ts) when a subtask is
 * escalated: each configured step in order (inference service, parent coordinator, cloud) is
 * asked to fix the code from every failed try so far; its answer must pass the language subset
 * and run cleanly in this node's sandbox to resolve the subtask. When none helps, the subtask
 * waits for a person (GET /escalate lists it). Steps already recorded are skipped, so a
 * redelivery after a crash resumes where the waterfall stopped.
 */
export async function startEscalationFlow(opts: {
  nc: NatsConnection;
  store: EventStore;
  handlers: Pick<TasksHandlers, "subtask">;
  verifier?: SignatureVerifier;
  escalators: readonly Escalator[];
  sandbox: Sandbox;
  checkSubset: (language: Language, code: string) => Promise<SubsetCheck>;
  log?: (line: string) => void;
  onError?: (err: unknown) => void;
  clock?: () => Date;
}): Promise<Reactor> {
  const registry = eventRegistry(...tasksContext.events);
  const clock = opts.clock ?? systemClock;
  const steps = opts.escalators.map((e) => e.via);
  const byVia = new Map(opts.escalators.map((e) => [e.via, e]));
  const append = (subject: string, { command, commandId }: WaterfallCommand) => opts.handlers.subtask(subject, command, { commandId, now: clock() });

  /** The subtask's state and every failed try, oldest first, from its admitted history. */
  async function history(subject: string): Promise<{ state: Subtask; tries: FailedTry[] }> {
    const { commits } = await opts.store.readAggregate(subject);
    let state = subtaskDecider.initialState();
    const tries: FailedTry[] = [];
    for (const check of await admitAll(commits, registry, opts.verifier)) {
      if (!check.ok) continue;
      const events = check.events.map((e) => ({ type: e.type, data: e.data }) as SubtaskEvent);
      const folded = foldCommit(subtaskDecider, state, events);
      if (!folded.ok) continue;
      state = folded.state;
      for (const e of events) {
        const t = failedTryOf(e);
        if (t) tries.push(t);
      }
    }
    return { state, tries };
  }

  /** The step's code judged as a worker's would be: the subset first, then a run in the sandbox. */
  async function judge(language: Language, code: string, timeoutMs: number): Promise<AttemptOutcome> {
    const verdict = await opts.checkSubset(language, code);
    if (!verdict.ok) return verdict.violations.length > 0 ? { kind: "outside_subset", reason: verdict.reason, violations: verdict.violations } : { kind: "invalid", reason: verdict.reason };
    const limits = limitsForTimeout(timeoutMs);
    return judgeRun(await opts.sandbox.run(language, code, limits), limits.wallMs);
  }

  return startReactor({
    nc: opts.nc,
    stream: tasksContext.stream,
    durable: ESCALATION_CONSUMER,
    retryDelayMs: 10_000,
    ...(opts.onError ? { onError: opts.onError } : {}),
    async react(m) {
      const [check] = await admitAll([m], registry, opts.verifier);
      if (!check?.ok || !check.events.some((e) => e.type === "subtask.escalated")) return;
      const subtaskId = aggregateIdOf(m.subject);
      const { state, tries: found } = await history(m.subject);
      if (state.status !== "escalated") return;
      const { spec } = state;
      const tries = triesToShow(found, state);

      for (const via of stepsLeft(state, steps)) {
        const escalator = byVia.get(via)!;
        let answer: { code: string; model: string };
        try {
          answer = await escalator.escalate(escalationRequest({ subtaskId, taskId: spec.taskId, language: spec.language, input: spec.input, history: tries }));
        } catch (err) {
          if (!(err instanceof EscalationUnavailableError || err instanceof EscalationFailedError)) throw err;
          opts.log?.(`escalation of ${subtaskId} via ${via}: ${err.message}`);
          await append(m.subject, stepUnavailable(subtaskId, via, err.message));
          continue;
        }
        const result = stepAnswered(subtaskId, via, answer, await judge(spec.language, answer.code, spec.timeoutMs));
        await append(m.subject, result);
        if (result.resolved) {
          opts.log?.(`escalation of ${subtaskId}: resolved via ${via} (${answer.model})`);
          return;
        }
        if (result.failedTry) tries.push(result.failedTry);
      }
      await append(m.subject, awaitPerson(subtaskId, steps));
      opts.log?.(`escalation of ${subtaskId}: waiting for a person (GET /escalate)`);
    },
  });
}
