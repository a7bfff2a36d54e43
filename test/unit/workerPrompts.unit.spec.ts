import { describe, expect, it } from "vitest";
import { extractCode } from "../../src/domain/worker/extractCode.js";
import { codePrompt, MAX_FEEDBACK_CHARS, reflectPrompt, subsetRules } from "../../src/domain/worker/prompts.js";

describe("the code-generation prompt", () => {
  it("asks for a numbered plan as comments, then only executable code in one block of the language", () => {
    const p = codePrompt({ input: "print the first 10 primes", language: "python" });
    expect(p).toContain("print the first 10 primes");
    expect(p).toContain("exactly one ```python code block");
    expect(p).toMatch(/plan as numbered comment lines \(# 1\. \.\.\., # 2\. \.\.\.\), then write only executable code/);
  });

  it.each(["python", "javascript"] as const)("states every %s subset rule", (language) => {
    const p = codePrompt({ input: "x", language });
    for (const rule of subsetRules[language]) expect(p).toContain(rule);
  });

  it("names what each validator refuses", () => {
    const py = codePrompt({ input: "x", language: "python" });
    for (const word of ["import", "class", "try", "raise", "assert", "async", "global", "open", "eval", "getattr", "__name__", "bytearray"]) expect(py).toContain(word);
    const js = codePrompt({ input: "x", language: "javascript" });
    for (const word of ["classes", "`new`", "`this`", "throw", "import", "await", "process", "require", "globalThis", "eval", "Function", "Proxy", "Reflect", "constructor"]) {
      expect(js).toContain(word);
    }
    expect(js).toContain("console.log");
  });
});

describe("the reflect prompt", () => {
  it("holds the task, the failed code and the error", () => {
    const p = reflectPrompt({ input: "add 2 and 3", language: "python", code: "print(a + b)", error: "NameError: name 'a' is not defined" });
    expect(p).toContain("add 2 and 3");
    expect(p).toContain("```python\nprint(a + b)\n```");
    expect(p).toContain("NameError: name 'a' is not defined");
    for (const rule of subsetRules.python) expect(p).toContain(rule);
  });

  it("keeps the end of a long error, where a traceback says what happened", () => {
    const error = "x".repeat(10_000) + "ZeroDivisionError: division by zero";
    const p = reflectPrompt({ input: "t", language: "python", code: "print(1/0)", error });
    expect(p).toContain("ZeroDivisionError: division by zero");
    expect(p.length).toBeLessThan(MAX_FEEDBACK_CHARS + 3_000);
  });

  it("fences the failed code so that backticks inside it cannot end the block", () => {
    const code = "const s = `a`;\nconsole.log('```')\n```";
    const p = reflectPrompt({ input: "t", language: "javascript", code, error: "e" });
    expect(extractCode(p, "javascript")).toBe(code);
  });
});
