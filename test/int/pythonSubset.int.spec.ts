import { describe, expect, it } from "vitest";
import { checkPythonSubset } from "../../src/adapters/executor/pythonSubset.js";

const rulesOf = async (code: string) => {
  const r = await checkPythonSubset(code);
  return r.ok ? [] : r.violations.map((v) => v.rule);
};

describe("the executor's Python subset, checked by CPython's parser", () => {
  it("accepts plain functions, comprehensions, f-strings and print", async () => {
    const code = [
      "def fib(n):",
      "    return n if n < 2 else fib(n - 1) + fib(n - 2)",
      "squares = [x * x for x in range(10) if x % 2 == 0]",
      "pairs = {k: v for k, v in zip('abc', (1, 2, 3))}",
      "total = sum(squares) + max(pairs.values())",
      "print(f'{total} {fib(10)}', sorted(pairs))",
    ].join("\n");
    expect(await checkPythonSubset(code)).toEqual({ ok: true });
  });

  it.each([
    ["import", "import os", "import"],
    ["from-import", "from os import path", "import"],
    ["class", "class A:\n    pass", "class"],
    ["try", "try:\n    x = 1\nexcept Exception:\n    pass", "try"],
    ["with", "with x as y:\n    pass", "with"],
    ["raise", "raise ValueError()", "raise"],
    ["assert", "assert 1 == 1", "assert"],
    ["async def", "async def f():\n    pass", "async"],
    ["await", "async def f():\n    await g()", "async"],
    ["global", "def f():\n    global x", "global"],
  ])("refuses %s", async (_name, code, rule) => {
    expect(await rulesOf(code)).toContain(rule);
  });

  it.each(["open", "exec", "eval", "compile", "__import__", "globals", "locals", "getattr", "setattr", "delattr", "vars", "dir", "input", "breakpoint", "memoryview", "bytearray"])(
    "refuses %s",
    async (name) => {
      expect(await rulesOf(`x = ${name}`)).toContain(name);
    },
  );

  it("refuses the dunder path back to the builtins, naming where it starts", async () => {
    const r = await checkPythonSubset("x = 1\ny = ().__class__.__bases__[0].__subclasses__()");
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^outside the Python subset: /) });
    expect(r.ok ? [] : r.violations.map((v) => [v.rule, v.line])).toEqual(
      expect.arrayContaining([
        ["__class__", 2],
        ["__bases__", 2],
        ["__subclasses__", 2],
      ]),
    );
  });

  it("refuses code that does not parse, and never runs what it checks", async () => {
    expect(await checkPythonSubset("def f(:\n")).toMatchObject({ ok: false, reason: expect.stringMatching(/^not valid Python/) });
    // Would write a file if it ran; the parser only reads it (and open is refused anyway).
    const marker = `/tmp/ec-py-subset-${process.pid}`;
    await checkPythonSubset(`open(${JSON.stringify(marker)}, "w").write("ran")`);
    await expect(import("node:fs/promises").then((fs) => fs.access(marker))).rejects.toThrow();
  });

  it("does not mistake words in strings or comments for code", async () => {
    expect(await checkPythonSubset("# import os\nprint('class try eval open')")).toEqual({ ok: true });
  });
});
