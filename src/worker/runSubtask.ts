import type { ModelProvider } from "../adapters/models/ollamaProvider.js";
import { defaultSandboxLimits } from "../adapters/executor/sandboxContract.js";
import { limitsForTimeout, type Sandbox, type SandboxLimits } from "../adapters/executor/sandbox.js";
import { checkSubset } from "../adapters/executor/subsetCheck.js";
import type { AssignedSubtask, ResultBody } from "../schemas/coordinatorApi.js";
import type { Language } from "../domain/tasks/decomposition.js";
import type { SubsetChecker } from "../domain/tasks/subset.js";
import { extractCode } from "../domain/worker/extractCode.js";
import { iterationBound, judgeRun, nextStep, reportOf, type AttemptOutcome } from "../domain/worker/iteration.js";
import { codePrompt, reflectPrompt } from "../domain/worker/prompts.js";

export interface RunSubtaskDeps {
  readonly provider: ModelProvider;
  readonly sandbox: Sandbox;
  /** Tries in all, the first included; default 3. */
  readonly maxIterations?: number;
  readonly checkSubset?: SubsetChecker;
  /** Memory, processes and output; the wall time always comes from the subtask. */
  readonly baseLimits?: SandboxLimits;
  /** Checked between steps: a stopping worker abandons the subtask rather than report half of it. */
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export type SubtaskRun = Pick<ResultBody, "code" | "output" | "stderr" | "ok" | "durationMs"> & { readonly iterations: number };

/** The coordinator refuses result fields over 256 KiB. */
const RESULT_FIELD_CHARS = 256 * 1024;
const clip = (text: string) => (text.length <= RESULT_FIELD_CHARS ? text : text.slice(0, RESULT_FIELD_CHARS - 20) + "\n...[truncated]");

async function tryCode(language: Language, code: string, limits: SandboxLimits, deps: RunSubtaskDeps): Promise<AttemptOutcome> {
  if (!code.trim()) return { kind: "invalid", reason: "the answer held no code" };
  const check = await (deps.checkSubset ?? checkSubset)(language, code);
  if (!check.ok) {
    // A parse error is a broken program, not a construct the subset refuses: it is not escalated as outside_subset.
    if (check.violations.length === 0) return { kind: "invalid", reason: check.reason };
    return { kind: "outside_subset", reason: check.reason, violations: check.violations };
  }
  deps.signal?.throwIfAborted();
  return judgeRun(await deps.sandbox.run(language, code, limits), limits.wallMs);
}

/**
 * One subtask, plan → code → run → reflect, at most maxIterations tries. Each failure (its
 * stderr, a kill, or the subset's refusal) goes back to the model with the code that failed.
 * A model that cannot be reached ends the loop with ModelUnavailableError: no code is invented.
 * durationMs is the whole loop, model time included: that is the compute the worker gave.
 */
export async function runSubtask(subtask: Pick<AssignedSubtask, "input" | "language" | "timeoutMs">, deps: RunSubtaskDeps): Promise<SubtaskRun> {
  const started = performance.now();
  const max = iterationBound(deps.maxIterations);
  const limits = limitsForTimeout(subtask.timeoutMs, deps.baseLimits ?? defaultSandboxLimits);
  const task = { input: subtask.input, language: subtask.language };
  let prompt = codePrompt(task);
  for (let iteration = 1; ; iteration++) {
    deps.signal?.throwIfAborted();
    const code = extractCode(await deps.provider.generate(prompt), task.language);
    const outcome = await tryCode(task.language, code, limits, deps);
    const step = nextStep(outcome, iteration, max);
    deps.log?.(`try ${iteration}/${max}: ${outcome.kind}`);
    if (step.kind === "finish") {
      const report = reportOf(outcome);
      return {
        ok: step.ok,
        code: clip(code),
        output: clip(report.output),
        stderr: clip(report.stderr),
        durationMs: Math.round(performance.now() - started),
        iterations: iteration,
      };
    }
    prompt = reflectPrompt({ ...task, code, error: step.feedback });
  }
}
