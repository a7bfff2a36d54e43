/** One construct the executor's language subset refuses, where it stands in the code. */
export interface SubsetViolation {
  readonly rule: string;
  readonly line: number;
  readonly column: number;
}

/** Code outside the subset is never run locally; it is escalated with reason outside_subset. */
export type SubsetCheck = { ok: true } | { ok: false; violations: SubsetViolation[]; reason: string };

export function subsetResult(language: string, violations: SubsetViolation[]): SubsetCheck {
  if (violations.length === 0) return { ok: true };
  const rules = [...new Set(violations.map((v) => v.rule))];
  return { ok: false, violations, reason: `outside the ${language} subset: ${rules.join(", ")}` };
}
