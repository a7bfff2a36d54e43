import type { SubsetCheck } from "./subset.js";

/**
 * Whether a worker's result is checked before it counts: this coordinator runs the reported
 * code in its own sandbox and compares. Adaptive, as volunteer computing learned (BOINC's
 * adaptive replication): every result of an agent without an established record is checked;
 * once it has passed ESTABLISHED_STREAK checks in a row, a share falling with the streak is
 * (ESTABLISHED_STREAK / streak), never below CHECK_FLOOR; one failed check resets the streak.
 * The floor is 5%: a forger who passed 200 checks to earn trust still meets a check about once
 * in every 20 results, and each failure sends it back to being checked every time.
 */
export const ESTABLISHED_STREAK = 10;
export const CHECK_FLOOR = 0.05;

/** An agent's record of checked results, as its aggregate keeps it. */
export interface CheckRecord {
  readonly checked: number;
  readonly failed: number;
  /** Checks passed in a row since the last failure. */
  readonly streak: number;
}

export function checkProbability(record: CheckRecord): number {
  if (record.streak < ESTABLISHED_STREAK) return 1;
  return Math.max(CHECK_FLOOR, ESTABLISHED_STREAK / record.streak);
}

/** `draw`: a uniform random number in [0, 1), from the caller (the domain has no randomness). */
export function shouldCheck(record: CheckRecord, draw: number): boolean {
  return draw < checkProbability(record);
}

/** How one run of the reported code went here (a SandboxResult fits). */
export interface CheckRun {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly killedFor?: string;
}

export type CheckVerdict =
  | { readonly verdict: "passed" }
  /** The output differs from one run to the next here too: only that the code runs was checked. */
  | { readonly verdict: "inconclusive"; readonly reason: string }
  | { readonly verdict: "failed"; readonly reason: string }
  /** The output differed once: run again to tell a forged output from a nondeterministic program. */
  | { readonly verdict: "runAgain" };

const tail = (s: string, n = 300) => (s.length <= n ? s : `...${s.slice(-n)}`);

function howItRan(run: CheckRun): string | undefined {
  if (run.killedFor) return `killed for ${run.killedFor}`;
  if (run.signal !== null) return `killed by ${run.signal}`;
  if (run.exitCode !== 0) return `exit code ${run.exitCode}${run.stderr.trim() ? `: ${tail(run.stderr.trim())}` : ""}`;
  return undefined;
}

/** Where two outputs first differ, in a line a person can read. */
export function firstDifference(reported: string, observed: string): string {
  const a = reported.split("\n");
  const b = observed.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      const show = (s: string | undefined) => (s === undefined ? "(nothing)" : JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s));
      return `line ${i + 1}: reported ${show(a[i])}, ran here ${show(b[i])}`;
    }
  }
  return "they differ";
}

/**
 * A success claim against the runs of its code here: it must run (exit 0, not killed) and print
 * exactly what was reported. A first mismatch asks for a second run: if the two runs here
 * differ from each other the program is not deterministic and only that it runs is vouched for.
 */
export function judgeSuccessClaim(reportedOutput: string, first: CheckRun, second?: CheckRun): CheckVerdict {
  const broken = howItRan(first);
  if (broken) return { verdict: "failed", reason: `the reported code does not run here: ${broken}` };
  if (first.stdout === reportedOutput) return { verdict: "passed" };
  if (!second) return { verdict: "runAgain" };
  if (second.stdout !== first.stdout || howItRan(second)) {
    return { verdict: "inconclusive", reason: "the program's output differs from run to run here; only that it runs was checked" };
  }
  return { verdict: "failed", reason: `the reported output is not what the code prints here (${firstDifference(reportedOutput, first.stdout)})` };
}

/** A claim that the code is outside the language subset, against the subset check run here. */
export function judgeSubsetClaim(check: SubsetCheck): CheckVerdict {
  if (!check.ok && check.violations.length > 0) return { verdict: "passed" };
  return { verdict: "failed", reason: check.ok ? "the reported code is inside the language subset" : `the reported code is not a program: ${check.reason}` };
}
