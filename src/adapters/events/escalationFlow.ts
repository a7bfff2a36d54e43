import type { NatsConnection } from "@nats-io/transport-node";
import { foldCommit } from "../../domain/decider.js";
import { EscalationFailedError, EscalationUnavailableError, type Escalator } from "../../domain/escalation/escalator.js";
import { escalationRequest } from "../../domain/escalation/request.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import { subtaskDecider, type Subtask } from "../../domain/tasks/subtask.js";
import { subtaskEvents, subtaskEventSpecs, type SubtaskEvent } from "../../domain/tasks/subtaskEvents.js";
import { taskEventSpecs } from "../../domain/tasks/taskEvents.js";
import { feedbackFor, judgeRun, reportOf } from "../../domain/worker/iteration.js";
import type { EventSealer } from "../crypto/signingPool.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { limitsForTimeout, type Sandbox } from "../executor/sandbox.js";
import type { EventStore } from "../nats/eventStore.js";
import { checkSubset } from "../executor/subsetCheck.js";
import { admitAll } from "./admission.js";
import { commandHandler } from "./commandHandler.js";
import { startReactor, type Reactor } from "./reactor.js";

export const ESCALATION_CONSUMER = "ec-escalation";

/**
 * The escalation waterfall, run when a subtask is escalated: each configured step in order
 * (inference service, parent coordinator, cloud) is asked to fix the code from every failed try
 * so far; its answer must pass the language subset and run cleanly in this node's sandbox to
 * resolve the subtask. A step that is unreachable or whose code fails is recorded and the next
 * is asked, with the new failure added to the history. When none helps, the subtask waits for a
 * person (GET /escalate lists it). Steps already recorded are skipped, so a redelivery after a
 * crash resumes where the waterfall stopped.
 */
export async function startEscalationFlow(opts: {
  nc: NatsConnection;
  store: EventStore;
  sealer: EventSealer;
  verifier?: SignatureVerifier;
  escalators: readonly Escalator[];
  sandbox: Sandbox;
  log?: (line: string) => void;
  onError?: (err: unknown) => void;
}): Promise<Reactor> {
  const registry = eventRegistry(...taskEventSpecs, ...subtaskEventSpecs);
  const subtasks = commandHandler({ store: opts.store, decider: subtaskDecider, registry: subtaskEvents, sealer: opts.sealer, cacheSize: 0 });

  /** The subtask's state and every failed try (code and error), oldest first. */
  async function history(subject: string): Promise<{ state: Subtask; tries: { code: string; stderr: string }[] }> {
    const { commits } = await opts.store.readAggregate(subject);
    let state = subtaskDecider.initialState();
    const tries: { code: string; stderr: string }[] = [];
    for (const check of await admitAll(commits, registry, opts.verifier)) {
      if (!check.ok) continue;
      const events = check.events.map((e) => ({ type: e.type, data: e.data }) as SubtaskEvent);
      const folded = foldCommit(subtaskDecider, state, events);
      if (!folded.ok) continue;
      state = folded.state;
      for (const e of events) {
        if (e.type === "subtask.failed") tries.push({ code: e.data.code ?? "", stderr: e.data.error });
        if (e.type === "subtask.escalationTried" && e.data.code) tries.push({ code: e.data.code, stderr: e.data.reason });
      }
    }
    return { state, tries };
  }

  return startReactor({
    nc: opts.nc,
    stream: "EC_TASKS",
    durable: ESCALATION_CONSUMER,
    retryDelayMs: 10_000,
    ...(opts.onError ? { onError: opts.onError } : {}),
    async react(m) {
      const [check] = await admitAll([m], registry, opts.verifier);
      if (!check?.ok || !check.events.some((e) => e.type === "subtask.escalated")) return;
      const subtaskId = aggregateIdOf(m.subject);
      const { state, tries } = await history(m.subject);
      if (state.status !== "escalated") return;
      const { spec } = state;
      const meta = (step: string) => ({ now: new Date(), commandId: `escalation:${subtaskId}:${step}` });
      if (tries.length === 0) tries.push({ code: "", stderr: `no try finished: ${state.attempts} lease(s) ran out` });

      for (const escalator of opts.escalators) {
        if (state.tried.includes(escalator.via)) continue;
        let code: string;
        let model: string;
        try {
          const request = escalationRequest({ subtaskId, taskId: spec.taskId, language: spec.language, input: spec.input, history: tries });
          ({ code, model } = await escalator.escalate(request));
        } catch (err) {
          if (!(err instanceof EscalationUnavailableError || err instanceof EscalationFailedError)) throw err;
          opts.log?.(`escalation of ${subtaskId} via ${escalator.via}: ${err.message}`);
          await subtasks(m.subject, { kind: "recordEscalationTry", via: escalator.via, reason: err.message.slice(0, 2_000) }, meta(escalator.via));
          continue;
        }
        const verdict = await checkSubset(spec.language, code);
        const limits = limitsForTimeout(spec.timeoutMs);
        const outcome = verdict.ok
          ? judgeRun(await opts.sandbox.run(spec.language, code, limits), limits.wallMs)
          : verdict.violations.length > 0
            ? { kind: "outside_subset" as const, reason: verdict.reason, violations: verdict.violations }
            : { kind: "invalid" as const, reason: verdict.reason };
        if (outcome.kind === "passed") {
          await subtasks(m.subject, { kind: "resolve", via: escalator.via, by: model, code, output: reportOf(outcome).output }, meta(escalator.via));
          opts.log?.(`escalation of ${subtaskId}: resolved via ${escalator.via} (${model})`);
          return;
        }
        const reason = feedbackFor(outcome).slice(0, 2_000);
        await subtasks(m.subject, { kind: "recordEscalationTry", via: escalator.via, reason, code }, meta(escalator.via));
        tries.push({ code, stderr: reason });
      }
      const steps = opts.escalators.map((e) => e.via).join(", ") || "none configured";
      await subtasks(m.subject, { kind: "awaitHuman", reason: `no automatic step produced working code (tried: ${steps})` }, meta("human"));
      opts.log?.(`escalation of ${subtaskId}: waiting for a person (GET /escalate)`);
    },
  });
}
