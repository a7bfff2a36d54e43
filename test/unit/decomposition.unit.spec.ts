import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FALLBACK_TIMEOUT_MS, firstJsonArray, parseDecomposition, subtaskTimeoutMs } from "../../src/domain/tasks/decomposition.js";

const prompt = "write a function that adds two numbers, and test it";

describe("parsing a model's decomposition", () => {
  it("takes the subtasks of a JSON array wrapped in prose and a code fence, in order", () => {
    const answer = 'Sure! Here is the plan:\n```json\n[{"input": "write add(a, b)", "language": "python"}, {"input": "test add"}]\n```\nDone.';
    expect(parseDecomposition(answer, prompt, "javascript")).toEqual({
      parsed: true,
      subtasks: [
        { index: 0, input: "write add(a, b)", language: "python", timeoutMs: 5_000 },
        { index: 1, input: "test add", language: "javascript", timeoutMs: 5_000 },
      ],
    });
  });

  it("keeps at most ten subtasks", () => {
    const answer = JSON.stringify(Array.from({ length: 14 }, (_, i) => ({ input: `step ${i}` })));
    const d = parseDecomposition(answer, prompt, "python");
    expect(d.subtasks.map((s) => s.input)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i}`));
  });

  it("skips items that are not subtasks and keeps the rest", () => {
    const answer = '[{"input": ""}, {"language": "python"}, 42, {"input": "real work", "language": "cobol"}, {"input": "ok"}]';
    expect(parseDecomposition(answer, prompt, "python").subtasks.map((s) => s.input)).toEqual(["ok"]);
  });

  it.each([
    ["no array at all", "I cannot help with that.", /no JSON array/],
    ["an unterminated array", '[{"input": "a"', /no JSON array/],
    ["bad JSON inside the brackets", "[{input: 'a'}]", /not JSON/],
    ["an empty array", "[]", /no usable subtask/],
    ["only unusable items", '[{"input": " "}]', /no usable subtask/],
  ])("falls back to one subtask with the whole prompt and 30 s on %s", (_name, answer, reason) => {
    const d = parseDecomposition(answer, prompt, "javascript");
    expect(d).toMatchObject({ parsed: false, subtasks: [{ index: 0, input: prompt, language: "javascript", timeoutMs: FALLBACK_TIMEOUT_MS }] });
    expect(d.reason).toMatch(reason);
  });

  it("is not fooled by brackets inside strings", () => {
    expect(firstJsonArray('x [{"input": "a ] b [ c \\" ]"}] y [1]')).toBe('[{"input": "a ] b [ c \\" ]"}]');
  });
});

describe("subtask timeouts", () => {
  it("follow min(5000 + floor(len/50)*1000, 60000)", () => {
    expect(subtaskTimeoutMs("")).toBe(5_000);
    expect(subtaskTimeoutMs("x".repeat(49))).toBe(5_000);
    expect(subtaskTimeoutMs("x".repeat(50))).toBe(6_000);
    expect(subtaskTimeoutMs("x".repeat(2_749))).toBe(59_000);
    expect(subtaskTimeoutMs("x".repeat(2_750))).toBe(60_000);
    expect(subtaskTimeoutMs("x".repeat(100_000))).toBe(60_000);
  });

  it("any answer yields 1 to 10 subtasks with timeouts between 5 s and 60 s", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.array(fc.record({ input: fc.string() })).map((a) => JSON.stringify(a))), (answer) => {
        const { subtasks } = parseDecomposition(answer, prompt, "python");
        return (
          subtasks.length >= 1 &&
          subtasks.length <= 10 &&
          subtasks.every((s, i) => s.index === i && s.timeoutMs >= 5_000 && s.timeoutMs <= 60_000 && s.input.trim().length > 0)
        );
      }),
    );
  });
});
