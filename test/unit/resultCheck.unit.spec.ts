import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHECK_FLOOR, checkProbability, ESTABLISHED_STREAK, firstDifference, judgeSubsetClaim, judgeSuccessClaim, shouldCheck } from "../../src/domain/tasks/resultCheck.js";

const ran = (stdout: string, exitCode: number | null = 0, more: object = {}) => ({ exitCode, signal: null, stdout, stderr: "", ...more });
const record = (streak: number, checked = streak, failed = 0) => ({ checked, failed, streak });

describe("which results are checked", () => {
  it("checks every result of an agent without an established record", () => {
    for (const streak of [0, 1, ESTABLISHED_STREAK - 1]) expect(checkProbability(record(streak))).toBe(1);
    expect(shouldCheck(record(3), 0.999)).toBe(true);
  });

  it("checks a falling share as the streak grows, never below the floor", () => {
    expect(checkProbability(record(ESTABLISHED_STREAK))).toBe(1);
    expect(checkProbability(record(2 * ESTABLISHED_STREAK))).toBe(0.5);
    expect(checkProbability(record(1_000_000))).toBe(CHECK_FLOOR);
  });

  it("given any record, the share is within [floor, 1] and never rises with the streak", () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const pLo = checkProbability(record(lo));
        const pHi = checkProbability(record(hi));
        expect(pHi).toBeLessThanOrEqual(pLo);
        expect(pHi).toBeGreaterThanOrEqual(CHECK_FLOOR);
        expect(pLo).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("given a share p, about p of the draws are checked (draws are uniform)", () => {
    const rec = record(4 * ESTABLISHED_STREAK);
    const draws = Array.from({ length: 10_000 }, (_, i) => (i + 0.5) / 10_000);
    expect(draws.filter((d) => shouldCheck(rec, d)).length / draws.length).toBeCloseTo(0.25, 3);
  });
});

describe("a success claim judged by running its code here", () => {
  it("passes when the code runs and prints exactly what was reported", () => {
    expect(judgeSuccessClaim("42\n", ran("42\n"))).toEqual({ verdict: "passed" });
  });

  it("fails when the code does not run: an error, a kill, a signal", () => {
    expect(judgeSuccessClaim("42\n", { ...ran("", 1), stderr: "NameError: x" })).toEqual({
      verdict: "failed",
      reason: "the reported code does not run here: exit code 1: NameError: x",
    });
    expect(judgeSuccessClaim("42\n", ran("", null, { killedFor: "wall-time" })).verdict).toBe("failed");
    expect(judgeSuccessClaim("42\n", ran("", null, { signal: "SIGKILL" })).verdict).toBe("failed");
  });

  it("asks for a second run at a first mismatch, fails a forged output, and calls a changing output inconclusive", () => {
    expect(judgeSuccessClaim("made up\n", ran("42\n"))).toEqual({ verdict: "runAgain" });
    expect(judgeSuccessClaim("made up\n", ran("42\n"), ran("42\n"))).toEqual({
      verdict: "failed",
      reason: 'the reported output is not what the code prints here (line 1: reported "made up", ran here "42")',
    });
    expect(judgeSuccessClaim("0.51\n", ran("0.12\n"), ran("0.97\n")).verdict).toBe("inconclusive");
  });

  it("given any output, the same output passes and any other fails after two equal runs", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (reported, printed) => {
        const v = judgeSuccessClaim(reported, ran(printed), ran(printed));
        expect(v.verdict).toBe(reported === printed ? "passed" : "failed");
      }),
    );
  });

  it("names the first line that differs", () => {
    expect(firstDifference("a\nb\nc", "a\nb")).toBe('line 3: reported "c", ran here (nothing)');
  });
});

describe("a claim that the code is outside the subset", () => {
  it("holds only when the subset check here refuses the code", () => {
    expect(judgeSubsetClaim({ ok: false, violations: [{ rule: "import", line: 1, column: 0 }], reason: "outside the Python subset: import" })).toEqual({ verdict: "passed" });
    expect(judgeSubsetClaim({ ok: true })).toEqual({ verdict: "failed", reason: "the reported code is inside the language subset" });
    expect(judgeSubsetClaim({ ok: false, violations: [], reason: "not valid Python: x" }).verdict).toBe("failed");
  });
});
