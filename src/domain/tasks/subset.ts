import type { Language } from "./decomposition.js";

/** One construct the executor's language subset refuses, where it stands in the code. */
export interface SubsetViolation {
  readonly rule: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Code outside the subset is never run locally; it is escalated with reason outside_subset.
 * The subset is a filter that tells a model early what will not run, not the wall: code can
 * build names at run time that no reading of the source sees, so the sandbox must hold for code
 * the subset never saw (the sandbox escape tests run their code straight in the sandbox).
 */
export type SubsetCheck = { ok: true } | { ok: false; violations: SubsetViolation[]; reason: string };

export function subsetResult(language: string, violations: SubsetViolation[]): SubsetCheck {
  if (violations.length === 0) return { ok: true };
  const rules = [...new Set(violations.map((v) => v.rule))];
  return { ok: false, violations, reason: `outside the ${language} subset: ${rules.join(", ")}` };
}

/**
 * The port the worker, the escalation waterfall and the result checker take: the subset check of
 * one language, chosen by the subtask's. JavaScript's is pure (javascriptSubset.ts, acorn's tree);
 * Python's reads CPython's own tree in a subprocess, so it is an adapter
 * (src/adapters/executor/pythonSubset.ts), and src/adapters/executor/subsetCheck.ts joins the two.
 */
export type SubsetChecker = (language: Language, code: string) => Promise<SubsetCheck>;
