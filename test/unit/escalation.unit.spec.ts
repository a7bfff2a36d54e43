import { describe, expect, it } from "vitest";
import { codeFromAnswer } from "../../src/domain/escalation/code.js";
import { escalationMessages, escalationPrompt } from "../../src/domain/escalation/prompt.js";
import { EscalatedCode, EscalationReply } from "../../src/domain/escalation/reply.js";
import { ESCALATION_LIMITS, EscalationRequest, escalationRequest, type FailedTry } from "../../src/domain/escalation/request.js";

const firstTry: FailedTry = { code: "def add(a, b):\n    return a + c\nprint(add(2, 3))", stderr: "NameError: name 'c' is not defined" };
const secondTry: FailedTry = { code: "total = add(2, 3)\nprint(total)", stderr: "NameError: name 'add' is not defined", output: "partial output" };
const request: EscalationRequest = {
  subtaskId: "t1-0",
  taskId: "t1",
  language: "python",
  input: "write add(a, b) and print add(2, 3)",
  history: [firstTry, secondTry],
};

describe("the escalation request", () => {
  it("given a subtask with its failed tries, when parsed, then it is accepted as is", () => {
    expect(EscalationRequest.parse(request)).toEqual(request);
  });

  it.each([
    ["no tries", { ...request, history: [] }],
    ["eleven tries", { ...request, history: Array.from({ length: 11 }, () => firstTry) }],
    ["an empty task", { ...request, input: "  " }],
    ["an unknown language", { ...request, language: "cobol" }],
    ["a subtask id that is not an aggregate id", { ...request, subtaskId: "t1/0" }],
    ["a try without stderr", { ...request, history: [{ code: "x" }] }],
    ["stderr over its cap", { ...request, history: [{ code: "x", stderr: "e".repeat(ESCALATION_LIMITS.stderr + 1) }] }],
    ["code over its cap", { ...request, history: [{ code: "x".repeat(ESCALATION_LIMITS.code + 1), stderr: "" }] }],
    ["output over its cap", { ...request, history: [{ code: "x", stderr: "", output: "o".repeat(ESCALATION_LIMITS.output + 1) }] }],
  ])("given %s, when parsed, then it is refused", (_name, body) => {
    expect(EscalationRequest.safeParse(body).success).toBe(false);
  });

  it("given raw results longer than the caps, when built, then the newest tries are kept and stderr keeps its end", () => {
    const tries = Array.from({ length: 12 }, (_, i) => ({
      code: `# try ${i}\n` + "x".repeat(ESCALATION_LIMITS.code),
      stderr: "noise\n".repeat(2_000) + `ValueError: try ${i}`,
      output: "o".repeat(ESCALATION_LIMITS.output * 2),
    }));
    const built = escalationRequest({ ...request, input: "t".repeat(ESCALATION_LIMITS.input + 5), history: tries });
    expect(built.history).toHaveLength(ESCALATION_LIMITS.tries);
    expect(built.history[0]!.code.startsWith("# try 2\n")).toBe(true);
    expect(built.history.at(-1)!.stderr.endsWith("ValueError: try 11")).toBe(true);
    for (const t of built.history) {
      expect(t.code).toHaveLength(ESCALATION_LIMITS.code);
      expect(t.stderr).toHaveLength(ESCALATION_LIMITS.stderr);
      expect(t.output).toHaveLength(ESCALATION_LIMITS.output);
    }
    expect(built.input).toHaveLength(ESCALATION_LIMITS.input);
  });

  it("given raw results within the caps, when built, then nothing changes and an absent output stays absent", () => {
    expect(escalationRequest(request)).toEqual(request);
    expect(escalationRequest({ ...request, history: [firstTry] }).history[0]).not.toHaveProperty("output");
  });

  it("given no tries, when built, then it throws: there is nothing to escalate", () => {
    expect(() => escalationRequest({ ...request, history: [] })).toThrow();
  });
});

describe("the escalation prompt", () => {
  it("given two failed tries, when the prompt is written, then it holds the task and every try with its error, oldest first", () => {
    const prompt = escalationPrompt(request);
    expect(prompt).toContain(request.input);
    const positions = [firstTry.code, firstTry.stderr, secondTry.code, secondTry.stderr].map((text) => prompt.indexOf(text));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(prompt).toContain("Attempt 1:");
    expect(prompt).toContain("Attempt 2:");
    expect(prompt).toContain("Standard output:\n```\npartial output");
  });

  it("given a Python subtask, when the prompt is written, then it asks for only code within the Python subset", () => {
    const { system, user } = escalationMessages(request);
    expect(system).toMatch(/only code/);
    expect(system).toMatch(/no import statements/);
    expect(system).toMatch(/__name__/);
    expect(system).not.toMatch(/globalThis/);
    expect(user).toContain("```python\n" + firstTry.code + "\n```");
    expect(escalationPrompt(request)).toBe(`${system}\n\n${user}`);
  });

  it("given a JavaScript subtask, when the prompt is written, then it states the JavaScript subset instead", () => {
    const { system, user } = escalationMessages({ ...request, language: "javascript", history: [{ code: "console.log(add(2, 3))", stderr: "ReferenceError: add is not defined" }] });
    expect(system).toMatch(/no classes, no `new`, no `this`/);
    expect(system).toMatch(/globalThis/);
    expect(system).not.toMatch(/no import statements/);
    expect(user).toContain("```javascript\nconsole.log(add(2, 3))\n```");
  });

  it("given a try without code or stderr, when the prompt is written, then it says so instead of showing empty blocks", () => {
    const prompt = escalationPrompt({ ...request, history: [{ code: "", stderr: "" }] });
    expect(prompt).toContain("(no code was produced)");
    expect(prompt).toContain("the program ran but its result was wrong or missing");
  });
});

describe("code from a model's answer", () => {
  it.each([
    ["a bare program", "print(5)\n", "print(5)"],
    ["a fenced block in prose", "Here is the fix:\n```python\nprint(5)\n```\nIt adds.", "print(5)"],
    ["an untagged fence", "```\nprint(5)\n```", "print(5)"],
    ["the block in the subtask's language before others", "```bash\npython x.py\n```\n```py\nprint(5)\n```", "print(5)"],
    ["an unclosed fence (a cut-off answer)", "```python\nprint(5)\nprint(6)", "print(5)\nprint(6)"],
  ])("given %s, when extracted, then only the code remains", (_name, answer, code) => {
    expect(codeFromAnswer(answer, "python")).toBe(code);
  });

  it("given JavaScript fences, when extracted for JavaScript, then the js block is taken", () => {
    expect(codeFromAnswer("```python\nprint(1)\n```\n```js\nconsole.log(1)\n```", "javascript")).toBe("console.log(1)");
  });

  it("given an answer with nothing in it, when extracted, then the code is empty and no reply can carry it", () => {
    expect(codeFromAnswer("```python\n```", "python")).toBe("");
    expect(EscalatedCode.safeParse({ code: "", model: "m" }).success).toBe(false);
  });
});

describe("the escalation reply", () => {
  it("given code, a model and a step, when parsed, then it is an escalation reply; a person is not a step", () => {
    expect(EscalationReply.parse({ code: "print(5)", model: "m", via: "cloud" })).toEqual({ code: "print(5)", model: "m", via: "cloud" });
    expect(EscalationReply.safeParse({ code: "print(5)", model: "m", via: "human" }).success).toBe(false);
  });
});
