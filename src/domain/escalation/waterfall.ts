import type { Subtask, SubtaskCommand } from "../tasks/subtask.js";
import type { SubtaskEvent } from "../tasks/subtaskEvents.js";
import { feedbackFor, reportOf, type AttemptOutcome } from "../worker/iteration.js";
import type { EscalationVia } from "./reply.js";

/**
 * The escalation waterfall as pure rules: which step is next, what a step's answer or silence
 * records, and when a person must take over. Its runner asks the steps, checks and runs their
 * code in the node's sandbox and appends what these functions decide.
 */

/** One failed try, as an escalation step is shown it. */
export interface FailedTry {
  readonly code: string;
  readonly stderr: string;
}

/** The try an event of the subtask's history records, if it records one. */
export function failedTryOf(event: SubtaskEvent): FailedTry | undefined {
  if (event.type === "subtask.failed") return { code: event.data.code ?? "", stderr: event.data.error };
  if (event.type === "subtask.escalationTried" && event.data.code) return { code: event.data.code, stderr: event.data.reason };
  return undefined;
}

/** What a step is shown: every failed try, or, when none finished, why there is none. */
export function triesToShow(tries: readonly FailedTry[], state: Subtask): FailedTry[] {
  if (tries.length > 0) return [...tries];
  const attempts = state.status === "none" ? 0 : state.attempts;
  return [{ code: "", stderr: `no try finished: ${attempts} lease(s) ran out` }];
}

/** The configured steps the subtask has not tried yet, in the waterfall's order: each is asked once. */
export function stepsLeft(state: Subtask, steps: readonly EscalationVia[]): EscalationVia[] {
  if (state.status !== "escalated") return [];
  return steps.filter((via) => !state.tried.includes(via));
}

/** A command of the waterfall, with its id: one per step, so a redelivery resumes where it stopped. */
export interface WaterfallCommand {
  readonly command: SubtaskCommand;
  readonly commandId: string;
}

const idFor = (subtaskId: string, step: string) => `escalation:${subtaskId}:${step}`;

/** A step that could not be asked, or answered with no code: recorded, and the next is asked. */
export function stepUnavailable(subtaskId: string, via: EscalationVia, message: string): WaterfallCommand {
  return { command: { kind: "recordEscalationTry", via, reason: message.slice(0, 2_000) }, commandId: idFor(subtaskId, via) };
}

/**
 * A step's code, judged by the subset check and a run in this node's sandbox: code that passed
 * resolves the subtask; any other outcome is recorded as a try, and shown to the next step.
 */
export function stepAnswered(
  subtaskId: string,
  via: EscalationVia,
  answer: { readonly code: string; readonly model: string },
  outcome: AttemptOutcome,
): WaterfallCommand & { readonly resolved: boolean; readonly failedTry?: FailedTry } {
  if (outcome.kind === "passed") {
    return { resolved: true, command: { kind: "resolve", via, by: answer.model, code: answer.code, output: reportOf(outcome).output }, commandId: idFor(subtaskId, via) };
  }
  const reason = feedbackFor(outcome).slice(0, 2_000);
  return {
    resolved: false,
    command: { kind: "recordEscalationTry", via, reason, code: answer.code },
    commandId: idFor(subtaskId, via),
    failedTry: { code: answer.code, stderr: reason },
  };
}

/** No automatic step produced working code: the subtask waits for a person. */
export function awaitPerson(subtaskId: string, steps: readonly EscalationVia[]): WaterfallCommand {
  const tried = steps.join(", ") || "none configured";
  return { command: { kind: "awaitHuman", reason: `no automatic step produced working code (tried: ${tried})` }, commandId: idFor(subtaskId, "human") };
}
