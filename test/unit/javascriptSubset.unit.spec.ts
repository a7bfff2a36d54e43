import { describe, expect, it } from "vitest";
import { checkJavascriptSubset } from "../../src/domain/tasks/javascriptSubset.js";

const rulesOf = (code: string) => {
  const r = checkJavascriptSubset(code);
  return r.ok ? [] : r.violations.map((v) => v.rule);
};

describe("the executor's JavaScript subset", () => {
  it("accepts plain functions, closures, arrays, objects, template strings and console output", () => {
    const code = `
      const add = (a, b) => a + b;
      function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
      const xs = [1, 2, 3].map((x) => x * 2).filter(Boolean);
      const o = { name: "x", nested: { ok: true }, ...{ more: 1 } };
      for (const [k, v] of Object.entries(o)) console.log(\`\${k}=\${JSON.stringify(v)}\`);
      let total = 0; for (let i = 0; i < 10; i++) total += add(i, fib(5));
      console.log(total, xs, Math.max(...xs));
    `;
    expect(checkJavascriptSubset(code)).toEqual({ ok: true });
  });

  it.each([
    ["class declarations", "class A {}", "class"],
    ["class expressions", "const A = class {};", "class"],
    ["new", "const d = new Date();", "new"],
    ["this", "function f() { return this; }", "this"],
    ["try", "try { f(); } catch (e) {}", "try"],
    ["throw", "throw 1;", "throw"],
    ["static import", 'import fs from "node:fs";', "import"],
    ["dynamic import", 'import("node:fs");', "import"],
    ["import.meta", "console.log(import.meta.url);", "import.meta / new.target"],
    ["await", "await 1;", "await"],
    ["export", "export const x = 1;", "export"],
  ])("refuses %s", (_name, code, rule) => {
    expect(rulesOf(code)).toContain(rule);
  });

  it.each(["process", "require", "globalThis", "eval", "Function", "Proxy", "Reflect"])("refuses the identifier %s", (name) => {
    expect(rulesOf(`const x = ${name};`)).toContain(name);
  });

  it.each([
    ["a property path to Function", '[].constructor.constructor("return 1")();', "constructor"],
    ["a computed property path to Function", 'const f = (() => 1)["constructor"];', "constructor"],
    ["a shorthand property", "const o = { process };", "process"],
    ["a prototype edit", "Object.prototype.x = 1;", "prototype"],
    ["__proto__ in a literal", "const o = { __proto__: null };", "__proto__"],
  ])("refuses %s", (_name, code, rule) => {
    expect(rulesOf(code)).toContain(rule);
  });

  it("names every violation with its line and column", () => {
    const r = checkJavascriptSubset("const a = 1;\nconst b = new Map();\nrequire('x');");
    expect(r).toMatchObject({
      ok: false,
      reason: "outside the JavaScript subset: new, require",
      violations: [
        { rule: "new", line: 2, column: 10 },
        { rule: "require", line: 3, column: 0 },
      ],
    });
  });

  it("refuses code that does not parse, saying so", () => {
    expect(checkJavascriptSubset("function (")).toMatchObject({ ok: false, reason: expect.stringMatching(/^not valid JavaScript/) });
    expect(checkJavascriptSubset("with (Math) { max(1, 2); }")).toMatchObject({ ok: false, reason: expect.stringMatching(/^not valid JavaScript/) });
  });

  it("does not mistake words in strings or comments for code", () => {
    expect(checkJavascriptSubset('// new class this\nconsole.log("process require eval");')).toEqual({ ok: true });
  });
});
