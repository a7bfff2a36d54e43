import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_ITERATIONS,
  iterationBound,
  judgeRun,
  MAX_ITERATIONS_LIMIT,
  nextStep,
  reportOf,
  type AttemptOutcome,
  type RunReport,
} from "../../src/domain/worker/iteration.js";

const run = (r: Partial<RunReport> = {}): RunReport => ({ exitCode: 0, signal: null, stdout: "", stderr: "", ...r });
const failed: AttemptOutcome = { kind: "failed", run: run({ exitCode: 1, stderr: "Traceback...\nNameError: name 'x' is not defined\n" }), wallMs: 5_000 };
const outside: AttemptOutcome = { kind: "outside_subset", reason: "outside the Python subset: import", violations: [{ rule: "import", line: 1, column: 0 }] };

describe("judging a run", () => {
  it("passes only a program that exited 0 by itself", () => {
    expect(judgeRun(run({ stdout: "3\n" }), 1_000).kind).toBe("passed");
    expect(judgeRun(run({ exitCode: 1 }), 1_000).kind).toBe("failed");
    expect(judgeRun(run({ exitCode: null, signal: "SIGKILL", killedFor: "wall-time" }), 1_000).kind).toBe("failed");
    expect(judgeRun(run({ killedFor: "output" }), 1_000).kind).toBe("failed");
  });
});

describe("the bounded iteration", () => {
  it("given a passing try, then it finishes ok at any iteration", () => {
    expect(nextStep({ kind: "passed", run: run() }, 1, 3)).toEqual({ kind: "finish", ok: true });
  });

  it("given a failed run before the last try, then it reflects with the exit code and the stderr", () => {
    const step = nextStep(failed, 1, 3);
    expect(step.kind).toBe("reflect");
    expect(step.kind === "reflect" && step.feedback).toMatch(/exit code 1[\s\S]*NameError: name 'x' is not defined/);
  });

  it("given a subset refusal, then the feedback names each construct and its line", () => {
    const step = nextStep(outside, 2, 3);
    expect(step).toEqual({ kind: "reflect", feedback: expect.stringMatching(/refused before running: outside the Python subset: import\.\nline 1, column 0: import is not allowed/) });
  });

  it("given a wall-time kill, then the feedback says it ran too long", () => {
    const step = nextStep({ kind: "failed", run: run({ exitCode: null, signal: "SIGKILL", killedFor: "wall-time" }), wallMs: 2_000 }, 1, 3);
    expect(step.kind === "reflect" && step.feedback).toMatch(/killed after 2000 ms: the program ran longer than its time limit/);
  });

  it("given the last try fails, then it finishes not ok", () => {
    expect(nextStep(failed, 3, 3)).toEqual({ kind: "finish", ok: false });
    expect(nextStep(outside, 1, 1)).toEqual({ kind: "finish", ok: false });
  });

  it("bounds the configured maximum to 1..10, 3 by default", () => {
    expect(iterationBound()).toBe(DEFAULT_MAX_ITERATIONS);
    expect(iterationBound(0)).toBe(1);
    expect(iterationBound(-4)).toBe(1);
    expect(iterationBound(1_000)).toBe(MAX_ITERATIONS_LIMIT);
    expect(iterationBound(Number.NaN)).toBe(DEFAULT_MAX_ITERATIONS);
  });

  it("property: for any sequence of outcomes, the loop stops by the bound and only a pass finishes ok", () => {
    const outcome = fc.constantFrom<AttemptOutcome>({ kind: "passed", run: run() }, failed, outside, { kind: "invalid", reason: "the answer held no code" });
    fc.assert(
      fc.property(fc.array(outcome, { minLength: MAX_ITERATIONS_LIMIT, maxLength: MAX_ITERATIONS_LIMIT }), fc.integer({ min: -5, max: 20 }), (outcomes, max) => {
        let tries = 0;
        for (const o of outcomes) {
          tries++;
          const step = nextStep(o, tries, max);
          if (step.kind === "finish") {
            expect(step.ok).toBe(o.kind === "passed");
            break;
          }
        }
        expect(tries).toBeLessThanOrEqual(iterationBound(max));
      }),
    );
  });
});

describe("the reported result of the last try", () => {
  it("reports a pass with its output", () => {
    expect(reportOf({ kind: "passed", run: run({ stdout: "3\n", stderr: "warning\n" }) })).toEqual({ ok: true, output: "3\n", stderr: "warning\n" });
  });

  it("reports a subset refusal with stderr starting outside_subset:", () => {
    const r = reportOf(outside);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/^outside_subset: outside the Python subset: import\nline 1/);
  });

  it("reports a failure with its stderr, and says why when the program was killed or silent", () => {
    expect(reportOf(failed).stderr).toBe("Traceback...\nNameError: name 'x' is not defined\n");
    expect(reportOf({ kind: "failed", run: run({ exitCode: null, signal: "SIGKILL", killedFor: "wall-time", stdout: "1\n" }), wallMs: 900 })).toEqual({
      ok: false,
      output: "1\n",
      stderr: expect.stringMatching(/^killed after 900 ms/),
    });
    expect(reportOf({ kind: "failed", run: run({ exitCode: 3 }), wallMs: 900 }).stderr).toBe("exit code 3");
  });

  it("reports an answer without a program as not ok, not as outside the subset", () => {
    expect(reportOf({ kind: "invalid", reason: "not valid Python: invalid syntax (line 1)" })).toEqual({ ok: false, output: "", stderr: "not valid Python: invalid syntax (line 1)" });
  });
});
