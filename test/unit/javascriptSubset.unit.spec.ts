import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkJavascriptSubset } from "../../src/domain/tasks/javascriptSubset.js";
import { ORDINARY_JAVASCRIPT } from "../support/javascriptPrograms.js";

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

const TWO_READINGS = "code that reads differently as a script (the runner) and as a module";

/**
 * Ways around the subset of the family issue 9 (item 2) found in the Python check: names that
 * stand in the tree somewhere other than where the check looked. Each is refused, naming the rule.
 */
describe("the JavaScript subset cannot be walked around", () => {
  it.each([
    // Destructuring names properties without a MemberExpression.
    ["a destructuring key", "const { constructor: F } = () => 1;", "constructor"],
    ["a nested destructuring key", "const { constructor: { constructor: F } } = [];", "constructor"],
    ["a computed destructuring key", 'const { ["constructor"]: F } = () => 1;', "constructor"],
    ["a parameter's destructuring key", "function f({ constructor: C }) { return C; }", "constructor"],
    ["an arrow parameter's destructuring key", "const f = ({ constructor: C }) => C;", "constructor"],
    ["a default inside a destructured parameter", "const f = ({ a = process } = {}) => a;", "process"],
    ["an assignment pattern", "let C; ({ constructor: C } = () => 1);", "constructor"],
    ["a for-of pattern", "for (const { constructor: C } of [() => 1]) console.log(C);", "constructor"],
    ["a rest pattern's target", "const { a, ...__rest } = {};", "__rest"],
    // Keys the source spells out, however it spells them.
    ["a concatenated key", 'const F = (() => 1)["con" + "structor"];', "constructor"],
    ["a template-literal key", "const F = (() => 1)[`constructor`];", "constructor"],
    ["a template key with a constant inside", 'const F = (() => 1)[`con${"struc"}tor`];', "constructor"],
    ["a key behind a condition", 'const F = (() => 1)[Math.random() > 2 ? "y" : "constr" + "uctor"];', "constructor"],
    ["a key behind ||", 'const F = (() => 1)[0 || "construc" + "tor"];', "constructor"],
    ["a key behind a comma", 'const F = (() => 1)[(0, "constru" + "ctor")];', "constructor"],
    ["a key assigned inline", 'let k; const F = (() => 1)[k = "construct" + "or"];', "constructor"],
    ["an escaped key", 'const F = (() => 1)["\\u0063onstructor"];', "constructor"],
    ["an escaped identifier", "const F = (() => 1).\\u0063onstructor;", "constructor"],
    ["a computed object key", 'const o = { ["__pro" + "to__"]: null };', "__proto__"],
    ["a quoted object key", 'const o = { "constructor": 1 };', "constructor"],
    ["a method named like a forbidden name", "const o = { constructor() { return 1; } };", "constructor"],
    ["an optional member", "const F = (() => 1)?.constructor;", "constructor"],
    ["an optional computed member", "const F = (() => 1)?.[`constructor`];", "constructor"],
    // A variable can carry a name to a key: the strings that only serve as keys are refused.
    ["a variable holding a key", 'const k = "constructor";\nconst F = (() => 1)[k];', '"constructor" in a string'],
    ["a template holding a key", "const k = `prototype`;", '"prototype" in a string'],
    ["a dunder string", 'const k = "__proto__";', '"__proto__" in a string'],
    ["a tagged template's text", "const k = String.raw`constructor`;", '"constructor" in a string'],
    // Reflection reads non-enumerable properties without naming them.
    ["a property descriptor", 'const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(() => 1), "con" + "structor");', "getOwnPropertyDescriptor"],
    ["a prototype read", "const p = Object.getPrototypeOf(() => 1);", "getPrototypeOf"],
    ["own property names", "const n = Object.getOwnPropertyNames(Math);", "getOwnPropertyNames"],
    ["all descriptors", "const d = Object.getOwnPropertyDescriptors(Math);", "getOwnPropertyDescriptors"],
    ["a getter defined by reflection", 'Object.defineProperty({}, "x", { get: () => 1 });', "defineProperty"],
    ["a prototype swap", "Object.setPrototypeOf({}, null);", "setPrototypeOf"],
    ["a legacy getter lookup", 'const g = ({}).__lookupGetter__("x");', "__lookupGetter__"],
    ["a reflection function by a computed key", 'const g = Object["getOwn" + "PropertyNames"];', "getOwnPropertyNames"],
    // The CommonJS wrapper the runner uses: its arguments are (exports, require, module, ...).
    ["arguments at top level", "const r = arguments[1];", "arguments outside a function"],
    ["arguments in a top-level arrow", "const r = () => arguments[1];", "arguments outside a function"],
    ["arguments.callee", "function f() { return arguments.callee; }", "callee"],
    ["a function's caller", "function f() { return f.caller; }", "caller"],
    ["a function's arguments property", "function f() { return f.arguments; }", "arguments"],
    ["a computed caller", 'function f() { return f["cal" + "ler"]; }', "caller"],
    ["__dirname", "console.log(__dirname);", "__dirname"],
    ["__filename", "console.log(__filename);", "__filename"],
    // V8's stack-trace hooks hand out call sites and their functions.
    ["prepareStackTrace", "Error.prepareStackTrace = (e, s) => s;", "prepareStackTrace"],
    ["captureStackTrace", "const o = {}; Error.captureStackTrace(o);", "captureStackTrace"],
    // Names in places a walker skips.
    ["a label", "process: for (;;) { break process; }", "process"],
    ["a tagged template's tag", "const f = Function`return 1`;", "Function"],
    ["a built dynamic import", 'import("f" + "s");', "import"],
    // Text the module parser and the runner's script parser read differently.
    ["an HTML-like comment opener", 'let y = 1, x = 0;\nx = 1 <!--y + `\nconsole.log(typeof fs);\n//`', TWO_READINGS],
  ])("refuses %s", (_name, code, rule) => {
    const r = checkJavascriptSubset(code);
    expect(r, JSON.stringify(r)).toMatchObject({ ok: false });
    expect(rulesOf(code)).toContain(rule);
  });

  it("refuses an HTML-like comment closer, a syntax error in a module", () => {
    expect(checkJavascriptSubset("let a = 1, b = 2;\na\n-->b;")).toMatchObject({ ok: false, reason: expect.stringMatching(/^not valid JavaScript/) });
  });

  it("accepts arguments inside a function, where it is that function's own", () => {
    expect(checkJavascriptSubset("function sum() { return Array.from(arguments).reduce((a, b) => a + b, 0); }\nconsole.log(sum(1, 2, 3));")).toEqual({ ok: true });
  });
});

/** A place in a program where a name goes, as the program with the name put there. */
const NAME_SLOTS: Record<string, (name: string) => string> = {
  "a reference": (n) => `const v = ${n};`,
  "a binding": (n) => `const ${n} = 1;`,
  "a parameter": (n) => `function f(${n}) { return 1; }`,
  "a function name": (n) => `function ${n}() { return 1; }`,
  "a label": (n) => `${n}: for (;;) { break ${n}; }`,
  "a member": (n) => `const v = [].${n};`,
  "an optional member": (n) => `const v = [1]?.${n};`,
  "a string key": (n) => `const v = [][${JSON.stringify(n)}];`,
  "a template key": (n) => `const v = [][\`${n}\`];`,
  "a key in two halves": (n) => `const v = [][${JSON.stringify(n.slice(0, 2))} + ${JSON.stringify(n.slice(2))}];`,
  "a key behind a condition": (n) => `const v = [][Math.random() > 2 ? "y" : ${JSON.stringify(n)}];`,
  "an object key": (n) => `const o = { ${n}: 1 };`,
  "a quoted object key": (n) => `const o = { ${JSON.stringify(n)}: 1 };`,
  "a computed object key": (n) => `const o = { [\`${n}\`]: 1 };`,
  "a method name": (n) => `const o = { ${n}() { return 1; } };`,
  "a getter name": (n) => `const o = { get ${n}() { return 1; } };`,
  "a destructuring key": (n) => `const { ${n}: v } = {};`,
  "a parameter's destructuring key": (n) => `function f({ ${n}: v }) { return v; }`,
  "an arrow parameter's destructuring key": (n) => `const f = ({ ${n}: v }) => v;`,
  "an assignment pattern's key": (n) => `let v; ({ ${n}: v } = {});`,
  "a for-of pattern's key": (n) => `for (const { ${n}: v } of []) console.log(v);`,
};

// Names the slots use themselves, and JavaScript's reserved words.
const SLOT_NAMES = new Set(["v", "f", "o", "y"]);
const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await enum arguments eval of get set async".split(" "),
);
const REFUSED_NAMES = ["process", "require", "globalThis", "Function", "Proxy", "Reflect", "constructor", "prototype", "__proto__", "global", "module", "exports", "getPrototypeOf", "getOwnPropertyNames", "getOwnPropertyDescriptor", "caller", "callee", "__x"];

describe("the JavaScript subset checks a name the same way wherever it stands", () => {
  it.each(Object.entries(NAME_SLOTS))("refuses every refused name in %s, naming it", (_slot, fill) => {
    for (const name of REFUSED_NAMES) {
      const r = checkJavascriptSubset(fill(name));
      expect(r.ok, fill(name)).toBe(false);
      // A name strict mode forbids there is a syntax error, which is a refusal too.
      if (!r.ok && r.violations.length > 0) expect(r.violations.map((v) => v.rule), fill(name)).toContain(name);
    }
  });

  it("accepts ordinary names in every slot", () => {
    const ordinaryName = fc.stringMatching(/^[a-z][a-zA-Z0-9]{2,10}$/).filter((n) => !RESERVED.has(n) && !SLOT_NAMES.has(n) && !REFUSED_NAMES.includes(n));
    fc.assert(
      fc.property(ordinaryName, fc.constantFrom(...Object.values(NAME_SLOTS)), (name, fill) => {
        expect(checkJavascriptSubset(fill(name)), fill(name)).toEqual({ ok: true });
      }),
      { numRuns: 500 },
    );
  });
});

describe("ordinary generated programs pass the JavaScript subset", () => {
  it.each(Object.entries(ORDINARY_JAVASCRIPT))("accepts %s", (_name, code) => {
    expect(checkJavascriptSubset(code)).toEqual({ ok: true });
  });
});
