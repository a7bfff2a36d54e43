import type { SubsetViolation } from "../tasks/subset.js";
import { tail } from "./prompts.js";

export const DEFAULT_MAX_ITERATIONS = 3;
export const MAX_ITERATIONS_LIMIT = 10;

/** Why the sandbox stopped a program from outside. */
export type KillReason = "wall-time" | "output" | "memory";

/** How one program ran, in the sandbox's words (a SandboxResult fits). */
export interface RunReport {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly killedFor?: KillReason;
}

/** What became of one try: ran and passed, ran and failed, refused by the subset, or not a program at all. */
export type AttemptOutcome =
  | { readonly kind: "passed"; readonly run: RunReport }
  | { readonly kind: "failed"; readonly run: RunReport; readonly wallMs: number }
  | { readonly kind: "outside_subset"; readonly reason: string; readonly violations: readonly SubsetViolation[] }
  | { readonly kind: "invalid"; readonly reason: string };

export type NextStep = { readonly kind: "finish"; readonly ok: boolean } | { readonly kind: "reflect"; readonly feedback: string };

/** The bound actually used: at least one try, never more than the limit, whatever was configured. */
export function iterationBound(requested: number = DEFAULT_MAX_ITERATIONS): number {
  if (!Number.isFinite(requested)) return DEFAULT_MAX_ITERATIONS;
  return Math.min(MAX_ITERATIONS_LIMIT, Math.max(1, Math.floor(requested)));
}

/** Passed only when the program exited 0 by itself: a kill or a signal is a failure whatever it printed. */
export function judgeRun(run: RunReport, wallMs: number): AttemptOutcome {
  return run.exitCode === 0 && run.signal === null && run.killedFor === undefined ? { kind: "passed", run } : { kind: "failed", run, wallMs };
}

const violationLines = (violations: readonly SubsetViolation[]) =>
  violations.slice(0, 20).map((v) => `line ${v.line}, column ${v.column}: ${v.rule} is not allowed`);

function whyItFailed(run: RunReport, wallMs: number): string {
  if (run.killedFor === "wall-time") return `killed after ${wallMs} ms: the program ran longer than its time limit (an endless loop, or far too slow)`;
  if (run.killedFor === "output") return "killed: the program printed far too much output";
  if (run.killedFor === "memory") return "killed: the program used more memory (or scratch space) than its limit";
  return run.signal !== null ? `killed by signal ${run.signal}` : `exit code ${run.exitCode}`;
}

/** The error a reflect prompt shows the model. */
export function feedbackFor(outcome: Exclude<AttemptOutcome, { kind: "passed" }>): string {
  switch (outcome.kind) {
    case "failed": {
      const parts = [whyItFailed(outcome.run, outcome.wallMs)];
      if (outcome.run.stderr.trim()) parts.push(`stderr:\n${tail(outcome.run.stderr)}`);
      if (outcome.run.stdout.trim()) parts.push(`stdout (end):\n${tail(outcome.run.stdout, 1_000)}`);
      return parts.join("\n");
    }
    case "outside_subset":
      return [`The program was refused before running: ${outcome.reason}.`, ...violationLines(outcome.violations)].join("\n");
    case "invalid":
      return `The answer was refused before running: ${outcome.reason}.`;
  }
}

/** Finish on success or on the last try; otherwise reflect on what went wrong. */
export function nextStep(outcome: AttemptOutcome, iteration: number, maxIterations: number): NextStep {
  if (outcome.kind === "passed") return { kind: "finish", ok: true };
  if (iteration >= iterationBound(maxIterations)) return { kind: "finish", ok: false };
  return { kind: "reflect", feedback: feedbackFor(outcome) };
}

/** The result a worker reports for its last try. Subset refusals start with "outside_subset:" so the coordinator can escalate them. */
export function reportOf(outcome: AttemptOutcome): { ok: boolean; output: string; stderr: string } {
  switch (outcome.kind) {
    case "passed":
      return { ok: true, output: outcome.run.stdout, stderr: outcome.run.stderr };
    case "failed": {
      const { run } = outcome;
      // A kill or a silent non-zero exit leaves nothing in stderr that says why.
      const silent = run.killedFor !== undefined || run.signal !== null || !run.stderr.trim();
      const stderr = silent ? [run.stderr.trimEnd(), whyItFailed(run, outcome.wallMs)].filter(Boolean).join("\n") : run.stderr;
      return { ok: false, output: run.stdout, stderr };
    }
    case "outside_subset":
      return { ok: false, output: "", stderr: [`outside_subset: ${outcome.reason}`, ...violationLines(outcome.violations)].join("\n") };
    case "invalid":
      return { ok: false, output: "", stderr: outcome.reason };
  }
}
